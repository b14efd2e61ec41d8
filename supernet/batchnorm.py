"""BatchNorm statistics of a child: re-estimate them on its own activations.

In a super-network, the running statistics of a block's BatchNorm mix the activations of every
sampled depth before it; a child's own statistics differ (SPOS, OFA and paper 004's evaluations
recalibrate them). These helpers are plain PyTorch so the search, the validation loop and the
transfer code share them.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable

import torch
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


@torch.no_grad()
def recalibrate_bn(model: torch.nn.Module, batches: Iterable,
                   forward: Callable | None = None, bns: Iterable | None = None) -> int:
    """Re-estimate the running statistics of the BatchNorms that ``batches`` reach.

    Each BatchNorm is reset when it first sees data and then accumulates an exact average over
    all batches (``momentum=None``); BatchNorms the forward never reaches (blocks past the active
    depth) keep their statistics. Only BatchNorms switch to train mode — dropout and the like stay
    in eval mode, ``norm_eval`` is overridden on purpose — and every module's mode and momentum are
    restored afterwards.

    Args:
        model: the network whose BatchNorms are recalibrated.
        batches: inputs for ``forward``.
        forward: called on each batch; default ``model(batch)``.
        bns: the BatchNorms to recalibrate; default every BatchNorm of ``model``. The others
            keep their statistics and run in eval mode (e.g. those a detector's training keeps
            frozen: ``norm_eval``, frozen stages).

    Returns:
        The number of batches used.
    """
    bns = batchnorms(model) if bns is None else list(bns)
    modes = {m: m.training for m in model.modules()}
    momenta = {bn: bn.momentum for bn in bns}
    reached = set()

    def reset_on_first_use(bn, _inputs):
        if bn not in reached:
            reached.add(bn)
            bn.reset_running_stats()

    handles = [bn.register_forward_pre_hook(reset_on_first_use) for bn in bns]
    try:
        model.eval()
        for bn in bns:
            bn.train()
            bn.momentum = None
        count = 0
        for batch in batches:
            (forward or model)(batch)
            count += 1
    finally:
        for handle in handles:
            handle.remove()
        for bn, momentum in momenta.items():
            bn.momentum = momentum
        for module, training in modes.items():
            module.training = training
    return count
