"""Adapters from mmengine runners to the engine-free search.

``classification_evaluator(runner, ...)`` turns a Runner built from a super-network classifier
config (mmpretrain ``ImageClassifier``) into a :class:`~search.evaluator.ClassificationEvaluator`:
batches come from the config's dataloaders through the model's ``data_preprocessor``. Under
``torchrun`` every rank reads its shard (mmengine's ``DefaultSampler``) and the evaluator reduces
over ranks.
"""
from __future__ import annotations

import copy
from itertools import islice

import torch
from mmengine.dist import get_dist_info
from mmengine.model import is_model_wrapper

from .evaluator import ClassificationEvaluator


def unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


def preprocessed(model, loader, limit: int | None = None):
    """``(images, labels)`` tensors from an mmpretrain dataloader, normalised by the model."""
    for batch in islice(loader, limit):
        data = model.data_preprocessor(batch, False)
        labels = torch.cat([sample.gt_label for sample in data['data_samples']])
        yield data['inputs'], labels


def _loader(runner, name: str, shuffle: bool):
    """A fresh loader over a config's dataset: the runner's training loader may hold an
    InfiniteSampler (one iterator per lifetime) and persistent workers."""
    cfg = copy.deepcopy(runner.cfg[name])
    cfg.update(persistent_workers=False,
               sampler=dict(type='DefaultSampler', shuffle=shuffle, round_up=False))
    return runner.build_dataloader(cfg, seed=runner.seed)


def classification_evaluator(runner, num_recal_batches: int, metric: str = 'accuracy',
                             prefix_cache: bool = True) -> ClassificationEvaluator:
    """Score candidates on the runner's validation set after BatchNorm recalibration on
    ``num_recal_batches`` batches of its training set (split over the ranks)."""
    rank, world_size = get_dist_info()
    if num_recal_batches % world_size:
        raise ValueError(f'num_recal_batches={num_recal_batches} must be a multiple of the '
                         f'{world_size} processes, so every rank recalibrates on as many batches')
    model = unwrapped(runner.model)
    recal = preprocessed(model, _loader(runner, 'train_dataloader', shuffle=True),
                         num_recal_batches // world_size)
    val = preprocessed(model, _loader(runner, 'val_dataloader', shuffle=False))
    return ClassificationEvaluator(model, recal, val, num_recal_batches // world_size,
                                   metric=metric, prefix_cache=prefix_cache,
                                   sharded=world_size > 1)
