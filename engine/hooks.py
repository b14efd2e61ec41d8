"""Per-iteration depth sampling for super-network training (paper 004, Sec. 3.2)."""
from __future__ import annotations

import hashlib
import json
import os.path as osp

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from supernet.dynamic import SuperNetMixin
from supernet.spaces import Allocation, SearchSpace

from .recipes import step_allocations


def sample_allocation(space: SearchSpace, seed: int, iteration: int) -> Allocation:
    """The allocation of training iteration ``iteration``: S_i ~ U[1, N_i] per stage.

    A fresh generator seeded by ``(seed, iteration)`` makes every DDP rank draw the same depths
    without communicating, and a resumed run continue the same sequence. (A step that trains
    several subnets draws them from the same generator: ``engine.recipes.step_allocations``.)
    """
    return space.sample(np.random.default_rng([seed, iteration]))


def find_supernet(model: torch.nn.Module) -> SuperNetMixin:
    """The super-network inside ``model`` (a classifier, a detector, a DDP wrapper)."""
    if is_model_wrapper(model):
        model = model.module
    for module in model.modules():
        if isinstance(module, SuperNetMixin):
            return module
    raise TypeError(f'{type(model).__name__} contains no super-network backbone '
                    '(ResNetSuperNet, MobileNetV2SuperNet or MnasNetSuperNet)')


def supernet_meta(model: torch.nn.Module) -> dict:
    """What ``tools/extract_subnet.py`` needs to cut subnets out of a checkpoint of ``model``."""
    supernet = find_supernet(model)
    return dict(space=supernet.space.name, max_depths=list(supernet.space.max_depths))


def parameter_checksum(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        digest.update(name.encode())
        digest.update(param.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class DepthSamplingHook(Hook):
    """Before every training iteration, set the super-network to a freshly sampled allocation
    (a model that trains several subnets per step, ``SupernetClassifier``, gets the list its
    ``train_subnets`` asks for: ``engine.recipes.step_allocations``); before validation and
    testing, set ``eval_allocation`` (default: the deepest).

    Args:
        seed (int | None): sampling seed; ``None`` uses the runner's seed (mmengine makes it the
            same on every rank).
        eval_allocation (str | Sequence[int]): ``'max'``, ``'min'``, ``'default'`` or depths.
            :class:`AllocationValLoop` overrides it with its own list.
        record (bool): append every iteration's allocation, and the final parameter checksum,
            to ``work_dir/depth_samples.rank<r>.jsonl``, to audit that ranks and resumed runs
            agree.
    """
    priority = 'HIGH'  # before the model sees the batch, after data-time bookkeeping

    def __init__(self, seed: int | None = None, eval_allocation='max', record: bool = False):
        self.seed = seed
        self.eval_allocation = eval_allocation
        self.record = record

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        supernet = find_supernet(runner.model)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        seed = runner.seed if self.seed is None else self.seed
        plan = getattr(model, 'train_subnets', None)
        if plan is None:
            allocations = [sample_allocation(supernet.space, seed, runner.iter)]
        else:
            allocations = model.step_allocations = step_allocations(
                supernet.space, seed, runner.iter, **plan)
        supernet.set_allocation(allocations[0])
        entry = {'allocation': list(allocations[0])} if len(allocations) == 1 else \
            {'allocations': [list(a) for a in allocations]}
        self._write(runner, {'iter': runner.iter, **entry})

    def before_val(self, runner):
        self._set_eval_allocation(runner)

    def before_test(self, runner):
        self._set_eval_allocation(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict):
        checkpoint.setdefault('meta', {}).update(supernet_meta(runner.model))

    def after_train(self, runner):
        self._set_eval_allocation(runner)
        if self.record:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            self._write(runner, {'iter': runner.iter, 'parameter_sha256': parameter_checksum(model)})

    def _set_eval_allocation(self, runner):
        supernet = find_supernet(runner.model)
        supernet.set_allocation(named_allocation(supernet.space, self.eval_allocation))

    def _write(self, runner, entry: dict):
        if self.record:
            path = osp.join(runner.work_dir, f'depth_samples.rank{get_rank()}.jsonl')
            with open(path, 'a') as f:
                f.write(json.dumps(entry) + '\n')


def named_allocation(space: SearchSpace, allocation) -> Allocation:
    """``'max'`` / ``'min'`` / ``'default'`` or explicit depths → validated depths."""
    named = {'max': space.max_depths, 'min': space.min_depths, 'default': space.default_depths}
    if isinstance(allocation, str):
        if allocation not in named:
            raise ValueError(f'allocation {allocation!r}: allowed names are {sorted(named)}, '
                             'or a sequence of depths')
        return named[allocation]
    return space.validate(allocation)
