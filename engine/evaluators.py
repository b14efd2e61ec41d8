"""Adapters from mmengine runners to the engine-free search.

``classification_evaluator(runner, ...)`` turns a Runner built from a super-network classifier
config (mmpretrain ``ImageClassifier``) into a :class:`~search.evaluator.ClassificationEvaluator`:
batches come from the config's dataloaders through the model's ``data_preprocessor``. Under
``torchrun`` every rank reads its shard (mmengine's ``DefaultSampler``) and the evaluator reduces
over ranks.
"""
from __future__ import annotations

import contextlib
import copy
import random
from itertools import islice

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.model import is_model_wrapper
from mmengine.registry import DATA_SAMPLERS, Registry
from torch.utils.data import Sampler

from common import deprecation
from search.evaluator import ClassificationEvaluator

# What search_cfg.evaluator.type names: a builder ``(runner, **options) -> evaluate``. An mmengine
# Registry because configs name its entries; ``locations`` imports the modules that register
# (this one, engine.detection) on first use, so a name never depends on what was imported before.
EVALUATORS = Registry('search evaluator', locations=['engine.evaluators', 'engine.detection'])


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


def _loader(runner, name: str, sampler: dict, dataset: dict | None = None):
    """A fresh loader over a config's dataset (with ``dataset`` fields changed): the runner's
    training loader may hold an InfiniteSampler (one iterator per lifetime) and persistent
    workers."""
    cfg = copy.deepcopy(runner.cfg[name])
    cfg.update(persistent_workers=False, sampler=sampler)
    cfg.dataset.update(dataset or {})
    return runner.build_dataloader(cfg, seed=runner.seed)


def recalibration_batches(runner, num_recal_batches: int) -> list:
    """This rank's share of the first ``num_recal_batches`` training batches of one seeded
    sequence: rank r takes batches r, r + world_size, ..., so the ranks together recalibrate on
    exactly the batches a single process would read."""
    rank, world_size = get_dist_info()
    if num_recal_batches % world_size:
        raise ValueError(f'num_recal_batches={num_recal_batches} must be a multiple of the '
                         f'{world_size} processes, so every rank recalibrates on as many batches')
    loader = _loader(runner, 'train_dataloader', dict(type='WholeDatasetSampler', shuffle=True))
    # The training pipeline's random crops and flips draw from the global RNGs when the loader
    # has no workers: seed them here, so the batches (and every score) do not depend on what the
    # process did before (a resumed search must score as the stopped one did).
    with seeded_rngs(runner.seed or 0):
        batches = list(islice(loader, rank, num_recal_batches, world_size))
    if len(batches) < num_recal_batches // world_size:
        raise ValueError(f'num_recal_batches={num_recal_batches}: the training set gives only '
                         f'{len(loader)} batches')
    return batches


@contextlib.contextmanager
def seeded_rngs(seed: int):
    """Python's, numpy's and torch's global RNGs seeded with ``seed`` inside, restored after."""
    states = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])


@EVALUATORS.register_module(name='classification')
def classification_evaluator(runner, num_recal_batches: int, metric: str = 'accuracy',
                             prefix_cache: bool = True,
                             val_dataset: dict | None = None) -> ClassificationEvaluator:
    """Score candidates on the runner's validation set after BatchNorm recalibration on
    ``num_recal_batches`` batches of its training set (split over the ranks; any split of the
    validation samples gives the same summed counts). ``val_dataset``: fields changed in the
    validation dataset's config, e.g. ``dict(part='rescore')`` to judge on the target's second
    held-out part."""
    world_size = get_dist_info()[1]
    model = unwrapped(runner.model)
    recal = preprocessed(model, recalibration_batches(runner, num_recal_batches))
    val = preprocessed(model, _loader(runner, 'val_dataloader',
                                      dict(type='DefaultSampler', shuffle=False, round_up=False),
                                      val_dataset))
    return ClassificationEvaluator(model, recal, val, num_recal_batches // world_size,
                                   metric=metric, prefix_cache=prefix_cache,
                                   sharded=world_size > 1)


def evaluator_from_config(config, checkpoint: str, num_recal_batches: int | None = None,
                          work_dir: str = 'work_dirs/evaluator', **evaluator_options):
    """A classification evaluator for a search config and a (fine-tuned) super-network
    checkpoint, without training: for benchmarks and reports that score many candidates."""
    from mmengine.config import Config

    from common.checkpoint import load_checkpoint_safely
    from engine.launch import build_runner
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'  # no training here: spare the runner's start-up report
    options = dict(cfg.search_cfg.evaluator)
    options.pop('type', None)
    options.update(evaluator_options)
    if num_recal_batches is not None:
        options['num_recal_batches'] = num_recal_batches
    runner = build_runner(cfg)
    state = load_checkpoint_safely(checkpoint, 'cpu')
    unwrapped(runner.model).load_state_dict(state.get('state_dict', state))
    unwrapped(runner.model).eval()
    return classification_evaluator(runner, **options)


# subnet training moved to engine.training
__getattr__ = deprecation.renamed(__name__, {
    'finetune_child': 'engine.training:finetune_subnet',
    'finetune_child_curve': 'engine.training:finetune_subnet_curve',
    'child_runner': 'engine.training:subnet_runner',
    'train_child': 'engine.training:train_subnet'})
