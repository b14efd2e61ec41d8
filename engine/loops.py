"""Validation of a super-network at several allocations in one pass of the validation loop."""
from __future__ import annotations

import copy
import logging
from itertools import islice

from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner import ValLoop

from common.batchnorm import preserved_bn_stats, recalibrate_bn
from supernet.spaces import format_allocation

from .hooks import find_supernet, named_allocation


@LOOPS.register_module()
class AllocationValLoop(ValLoop):
    """mmengine's ``ValLoop`` run once per allocation; metric names get the allocation's name
    as prefix, e.g. ``max/accuracy/top1`` and ``min/accuracy/top1``.

    Args:
        allocations (Sequence): names (``'max'``, ``'min'``, ``'default'``) or depth tuples.
        bn_recalibration_batches (int): before evaluating an allocation, re-estimate its
            BatchNorm statistics on this many training batches (0: use the running statistics,
            which mix every sampled depth and misjudge shallow subnets). Training resumes with
            the statistics it had.
        **kwargs: as ``ValLoop`` (``dataloader``, ``evaluator``, ``fp16``).
    """

    def __init__(self, runner, dataloader, evaluator, allocations=('max', 'min'),
                 bn_recalibration_batches: int = 0, fp16=False):
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        if not allocations:
            raise ValueError('AllocationValLoop: allocations must name at least one allocation')
        if bn_recalibration_batches < 0:
            raise ValueError(f'bn_recalibration_batches={bn_recalibration_batches}: must be >= 0')
        self.allocations = list(allocations)
        self.bn_recalibration_batches = bn_recalibration_batches
        self._bn_loader = None
        self._warned_short = False
        self.last_results = {}  # name -> (depths, metrics) of the latest run

    def run(self) -> dict:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        supernet = find_supernet(self.runner.model)
        previous = supernet.allocation
        metrics = {}
        with preserved_bn_stats(self.runner.model):
            for allocation in self.allocations:
                depths = named_allocation(supernet.space, allocation)
                prefix = allocation if isinstance(allocation, str) else format_allocation(depths)
                supernet.set_allocation(depths)
                recalibrated = ''
                if self.bn_recalibration_batches:
                    count = self._recalibrate_bn()
                    recalibrated = f', BatchNorm statistics from {count} training batches'
                # the (val) lines that follow and the '<name>/' metrics are this allocation's
                print_log(f"validating allocation '{prefix}': depths {tuple(depths)}{recalibrated}",
                          logger='current')
                self.val_loss.clear()
                for idx, data_batch in enumerate(self.dataloader):
                    self.run_iter(idx, data_batch)
                results = self.evaluator.evaluate(len(self.dataloader.dataset))
                metrics.update({f'{prefix}/{key}': value for key, value in results.items()})
                self.last_results[prefix] = (depths, results)
        supernet.set_allocation(previous)
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    def _recalibrate_bn(self) -> int:
        model = self.runner.model.module if is_model_wrapper(self.runner.model) else self.runner.model
        if self._bn_loader is None:
            # Its own loader over the training set: a second iterator over the training loader
            # would reset its persistent workers, and mmengine's InfiniteSampler serves a single
            # iterator in its lifetime. A seeded DefaultSampler whose epoch stays 0 gives the
            # same batches at every validation.
            cfg = copy.deepcopy(self.runner.cfg.train_dataloader)
            cfg.update(persistent_workers=False, sampler=dict(type='DefaultSampler', shuffle=True))
            self._bn_loader = self.runner.build_dataloader(cfg, seed=self.runner.seed)
        batches = islice(self._bn_loader, self.bn_recalibration_batches)
        # ranks saw different batches: they agree on the mean estimate
        count = recalibrate_bn(model, batches, lambda batch: model(
            **model.data_preprocessor(batch, False), mode='tensor'),
            across_ranks=get_world_size() > 1)
        if count < self.bn_recalibration_batches and not self._warned_short:
            # the loader and so the shortfall are the same at every validation: said once
            print_log(f'AllocationValLoop: bn_recalibration_batches={self.bn_recalibration_batches}'
                      f' but the training set gives only {count} batches; each allocation\'s '
                      'BatchNorm statistics come from those', logger='current',
                      level=logging.WARNING)
            self._warned_short = True
        return count
