"""BatchNorm statistics: re-estimate them on a network's own activations.

In a super-network the running statistics of a block's BatchNorm mix the activations of every
sampled depth before it; a subnet's own statistics differ (SPOS, OFA and Sun et al.'s evaluations
recalibrate them). After a weight transfer the statistics belong to the source network. Both
cases call :func:`recalibrate_bn`; the search's prefix-sharing evaluator drives the same steps
stage by stage with :func:`begin_recalibration` / :func:`end_recalibration`.

This is the project's one recalibration (OFA's ``set_running_statistics`` and mmrazor's
``CalibrateBNMixin`` play the same role there). It is hand-written rather than
``torch.optim.swa_utils.update_bn`` because ``update_bn`` calls ``model.train()``: dropout and
drop-path run while statistics are collected, and an mmdet backbone with ``norm_eval=True`` keeps
its BatchNorms in eval mode after ``train()``, so ``update_bn`` resets their statistics and never
re-estimates them. Here only the BatchNorms switch to train mode.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable

import torch
import torch.distributed as dist
from torch.nn.modules.batchnorm import _BatchNorm


def batchnorms(model: torch.nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


@contextmanager
def preserved_bn_stats(model: torch.nn.Module):
    """Restore every BatchNorm's running statistics on exit (recalibration leaves no trace)."""
    saved = [(bn, {k: v.clone() for k, v in bn.named_buffers(recurse=False) if v is not None})
             for bn in batchnorms(model)]
    try:
        yield
    finally:
        with torch.no_grad():
            for bn, buffers in saved:
                for name, value in buffers.items():
                    getattr(bn, name).copy_(value)


@contextmanager
def restored_modes(model: torch.nn.Module):
    """Every module's own ``training`` flag as it was on exit (not ``model.train(mode)``, which
    would flatten frozen stages and ``norm_eval``)."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


@contextmanager
def cumulative_averages(bns: Iterable):
    """``momentum=None`` inside (running statistics are the exact average of every batch seen
    since the last reset); the old momenta on exit."""
    bns = list(bns)
    momenta = [m.momentum for m in bns]
    try:
        for m in bns:
            m.momentum = None
        yield bns
    finally:
        for m, momentum in zip(bns, momenta):
            m.momentum = momentum


def begin_recalibration(bns: Iterable):
    """Reset ``bns`` and put them (only them) in train mode: the next forwards estimate their
    statistics. Use inside :func:`cumulative_averages` for an exact average over batches."""
    for m in bns:
        m.reset_running_stats()
        m.train()


def end_recalibration(bns: Iterable, across_ranks: bool = False):
    """Back to eval mode; with ``across_ranks``, average the statistics over the processes."""
    bns = list(bns)
    for m in bns:
        m.eval()
    if across_ranks:
        average_across_ranks(bns)


def average_across_ranks(bns: Iterable, count: int | None = None, total: int | None = None):
    """Every rank takes the mean over the ranks of the statistics each estimated on its own
    batches: equally weighted (exact for equal batch counts per rank), or, given this rank's
    ``count`` of the ``total`` batches, weighted by them — the statistics of one process reading
    every batch, each rank's being exact averages over its own (``momentum=None``); a rank
    without batches weighs nothing. No-op outside a multi-process group."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return
    world_size = dist.get_world_size()
    for m in bns:
        for stat in (m.running_mean, m.running_var):
            if count is None:
                dist.all_reduce(stat)
                stat /= world_size
            else:
                stat.mul_(count)
                dist.all_reduce(stat)
                stat.div_(total)


def _default_forward(model: torch.nn.Module):
    def forward(batch):
        # a dataloader's (inputs, labels, ...) tuple or the inputs themselves
        return model(batch[0] if isinstance(batch, (tuple, list)) else batch)
    return forward


@torch.no_grad()
def recalibrate_bn(model: torch.nn.Module, batches: Iterable,
                   forward: Callable | None = None, bns: Iterable | None = None,
                   across_ranks: bool = False) -> int:
    """Re-estimate the running statistics of the BatchNorms that ``batches`` reach.

    Each BatchNorm is reset when it first sees data and then accumulates an exact average over
    all batches (``momentum=None``); BatchNorms the forward never reaches (blocks past the active
    depth) keep their statistics. Only BatchNorms switch to train mode — dropout and the like stay
    in eval mode, ``norm_eval`` is overridden on purpose — and every module's mode and momentum are
    restored afterwards.

    Args:
        model: the network whose BatchNorms are recalibrated.
        batches: inputs for ``forward``.
        forward: called on each batch; default ``model(batch)``, or ``model(batch[0])`` for a
            tuple or list (``(images, labels)`` from a dataloader).
        bns: the BatchNorms to recalibrate; default every BatchNorm of ``model``. The others
            keep their statistics and run in eval mode (e.g. those a detector's training keeps
            frozen: ``norm_eval``, frozen stages).
        across_ranks: each process saw its own batches; average the estimates over the ranks.

    Returns:
        The number of batches used.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
        >>> x = torch.randn(8, 3, 5, 5) * 3 + 1
        >>> recalibrate_bn(model, [x[:4], x[4:]])
        2
        >>> torch.allclose(model[1].running_mean, model[0](x).mean((0, 2, 3)), atol=1e-5)
        True
    """
    bns = batchnorms(model) if bns is None else list(bns)
    forward = forward or _default_forward(model)
    reached = set()

    def reset_on_first_use(bn, _inputs):
        if bn not in reached:
            reached.add(bn)
            begin_recalibration([bn])

    handles = [bn.register_forward_pre_hook(reset_on_first_use) for bn in bns]
    count = 0
    try:
        with restored_modes(model), cumulative_averages(bns):
            model.eval()
            for bn in bns:
                bn.train()
            for batch in batches:
                forward(batch)
                count += 1
    finally:
        for handle in handles:
            handle.remove()
    if across_ranks:
        average_across_ranks(bns)
    return count
