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
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from .evaluator import ClassificationEvaluator


def unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


def preprocessed(model, loader, limit: int | None = None):
    """``(images, labels)`` tensors from an mmpretrain dataloader, normalised by the model."""
    for batch in islice(loader, limit):
        data = model.data_preprocessor(batch, False)
        labels = torch.cat([sample.gt_label for sample in data['data_samples']])
        yield data['inputs'], labels


@DATA_SAMPLERS.register_module()
class WholeDatasetSampler(Sampler):
    """Every index of the dataset on every rank (seeded order when shuffled), so that ranks can
    split the *batches* of one sequence. mmengine's DefaultSampler splits the samples instead,
    which changes the batches' composition and with it the recalibrated statistics."""

    def __init__(self, dataset, shuffle: bool = True, seed: int | None = None):
        self.dataset = dataset  # as mmengine's samplers: mmdet's AspectRatioBatchSampler reads it
        self.size, self.shuffle, self.seed = len(dataset), shuffle, seed or 0

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.size))
        generator = torch.Generator().manual_seed(self.seed)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self):
        return self.size


def _loader(runner, name: str, sampler: dict):
    """A fresh loader over a config's dataset: the runner's training loader may hold an
    InfiniteSampler (one iterator per lifetime) and persistent workers."""
    cfg = copy.deepcopy(runner.cfg[name])
    cfg.update(persistent_workers=False, sampler=sampler)
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
    # Recalibration: rank r takes batches r, r + world_size, ... of the single-process sequence,
    # so the ranks together see exactly the batches one process would. Validation: any split of
    # the samples gives the same summed counts.
    train = _loader(runner, 'train_dataloader', dict(type='WholeDatasetSampler', shuffle=True))
    recal = preprocessed(model, islice(train, rank, num_recal_batches, world_size))
    val = preprocessed(model, _loader(runner, 'val_dataloader',
                                      dict(type='DefaultSampler', shuffle=False, round_up=False)))
    return ClassificationEvaluator(model, recal, val, num_recal_batches // world_size,
                                   metric=metric, prefix_cache=prefix_cache,
                                   sharded=world_size > 1)
