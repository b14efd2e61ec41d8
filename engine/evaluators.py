"""Adapters from mmengine runners to the engine-free search.

``classification_evaluator(runner, ...)`` turns a Runner built from a super-network classifier
config (mmpretrain ``ImageClassifier``) into a :class:`~search.evaluator.ClassificationEvaluator`:
batches come from the config's dataloaders through the model's ``data_preprocessor``. Under
``torchrun`` every rank reads its shard of the validation set (mmengine's ``DefaultSampler``) and
the evaluator reduces over ranks.

**Recalibration batches do not depend on the number of processes**
(:func:`recalibration_batches`): every rank reads the first ``num_recal_batches`` batches of one
seeded sequence, the batches one process with the same loader settings reads — its workers
seeded as rank 0's (mmengine seeds a worker ``num_workers * rank + worker_id + seed``, which
would give every rank other random crops) — and recalibrates on its share of them, or on all of
them where the evaluator cannot weight unequal shares. A search resumed on another number of
processes scores candidates on the same batches (up to floating-point rounding in the averages).
"""
from __future__ import annotations

import contextlib
import copy
import numbers
import random
from collections.abc import Mapping
from itertools import islice

import numpy as np
import torch
from mmengine.dataset import worker_init_fn
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import DATA_SAMPLERS, Registry
from torch.utils.data import Sampler

from common import deprecation
from search.evaluator import METRICS, ClassificationEvaluator

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


def _loader(runner, name: str, sampler: dict, dataset: dict | None = None,
            rank_free_workers: bool = False):
    """A fresh loader over a config's dataset (with ``dataset`` fields changed): the runner's
    training loader may hold an InfiniteSampler (one iterator per lifetime) and persistent
    workers. ``rank_free_workers``: seed its workers as rank 0's, whatever this rank is."""
    cfg = copy.deepcopy(runner.cfg[name])
    cfg.update(persistent_workers=False, sampler=sampler)
    cfg.dataset.update(dataset or {})
    if rank_free_workers and cfg.get('num_workers') and 'worker_init_fn' not in cfg:
        cfg.worker_init_fn = dict(type=worker_init_fn, num_workers=cfg.num_workers, rank=0,
                                  seed=runner.seed or 0)
    return runner.build_dataloader(cfg, seed=runner.seed)


def recalibration_share(num_recal_batches: int, rank: int, world_size: int) -> range:
    """The indices of the batches rank ``rank`` recalibrates on: ``rank``, ``rank +
    world_size``, ... below ``num_recal_batches`` (shares differ by one batch at most when the
    count is not a multiple of the processes; a rank past the count gets none)."""
    return range(rank, num_recal_batches, world_size)


def recalibration_batches(runner, num_recal_batches: int, split: bool = True) -> list:
    """The first ``num_recal_batches`` training batches of one seeded sequence, the same on
    every rank and for any number of processes (the module doc); with ``split``, only this
    rank's share of them (:func:`recalibration_share`), so the ranks together recalibrate on
    exactly the batches one process would read."""
    rank, world_size = get_dist_info()
    loader = _loader(runner, 'train_dataloader', dict(type='WholeDatasetSampler', shuffle=True),
                     rank_free_workers=True)
    share = recalibration_share(num_recal_batches, rank, world_size) if split else \
        range(num_recal_batches)
    # The training pipeline's random crops and flips draw from the global RNGs when the loader
    # has no workers: seed them here, so the batches (and every score) do not depend on what the
    # process did before (a resumed search must score as the stopped one did). Every rank reads
    # the whole sequence (the loader's workers draw in turn) and keeps its share.
    with seeded_rngs(runner.seed or 0):
        batches = list(islice(loader, share.start, share.stop, share.step))
    if len(batches) < len(share):
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
    ``num_recal_batches`` batches of its training set (split over the ranks when they are a
    multiple of the processes, else read by every rank; any split of the validation samples gives
    the same summed counts). ``val_dataset``: fields changed in the
    validation dataset's config, e.g. ``dict(part='rescore')`` to judge on the target's second
    held-out part."""
    rank, world_size = get_dist_info()
    # ClassificationEvaluator averages the ranks' statistics unweighted: exact for equal shares.
    # Otherwise every rank recalibrates on all the batches (the same statistics on each).
    split = num_recal_batches % world_size == 0
    if not split and rank == 0:
        print_log(f'num_recal_batches={num_recal_batches} is not a multiple of the {world_size} '
                  f'processes: every rank recalibrates on all {num_recal_batches} batches',
                  logger='current')
    batches = recalibration_batches(runner, num_recal_batches, split=split)
    model = unwrapped(runner.model)
    recal = preprocessed(model, batches)
    val = preprocessed(model, _loader(runner, 'val_dataloader',
                                      dict(type='DefaultSampler', shuffle=False, round_up=False),
                                      val_dataset))
    return ClassificationEvaluator(model, recal, val, len(batches), metric=metric,
                                   prefix_cache=prefix_cache, sharded=world_size > 1)


def _check_classification_options(options: dict, cfg=None):
    """``search_cfg.evaluator``'s values for :func:`classification_evaluator`, before any model
    is built (:func:`engine.pipeline.check_evaluator_options`)."""
    check_count(options, 'num_recal_batches', 1)
    if 'metric' in options and options['metric'] not in METRICS:
        raise ValueError(f'search_cfg.evaluator.metric={options["metric"]!r}: allowed '
                         f'{", ".join(map(repr, METRICS))} (the classification evaluator)')
    check_bool(options, 'prefix_cache')
    value = options.get('val_dataset')
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f'search_cfg.evaluator.val_dataset={value!r}: allowed None or a dict '
                         "of dataset fields, e.g. dict(part='rescore')")


classification_evaluator.check_options = _check_classification_options


def check_count(options: dict, key: str, minimum: int):
    """``options[key]``, when given, an integer >= ``minimum`` (one-line refusal)."""
    value = options.get(key, minimum)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f'search_cfg.evaluator.{key}={value!r}: allowed an integer >= {minimum}')


def check_bool(options: dict, key: str):
    value = options.get(key, True)
    if not isinstance(value, bool):
        raise ValueError(f'search_cfg.evaluator.{key}={value!r}: allowed True or False')


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
