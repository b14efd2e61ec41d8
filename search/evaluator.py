"""Top-1 of a super-network's subnets, with BatchNorm recalibration and prefix caching.

A candidate's score: set the super-network's allocation, recalibrate every BatchNorm on a fixed
set of target *training* batches, then measure top-1 on a validation split carved from the target
training set (:func:`split_train_val`; never the test set). Plain PyTorch, no engine.

**The model** is any ``nn.Module`` with

* ``model.backbone``: a super-network of :mod:`supernet` (``set_allocation``, ``forward_stem``,
  ``forward_layers``, ``layer_names``, ``out_indices``, ``space``);
* ``model.head``: a callable from the backbone's output tuple to logits ``(B, num_classes)``;
* optionally ``model.neck`` (applied between them when present and not ``None``).

An mmpretrain ``ImageClassifier`` (``GlobalAveragePooling`` neck, ``LinearClsHead``) has exactly
this shape. **Batches** are ``(images, labels)`` pairs of tensors as the backbone takes them
(already normalised: for mmpretrain, after its ``data_preprocessor``).

**Prefix caching** (:meth:`ClassificationEvaluator.evaluate_step`). The subnets of a greedy step
share the parent's depths except in the one stage ``k`` they grow, so stem and stages ``< k`` are
identical, and so are their recalibrated BatchNorm statistics. One call evaluates the whole step
stage by stage: the stem runs once; subnet ``k`` runs only layers ``≥ k`` from the cached features
at the input of stage ``k``; and the features at the input of stage ``k + 1`` (the output of the
parent's ``p_k`` blocks, a prefix of subnet ``k``'s stage ``k``) are captured from subnet ``k``'s
own run, so the parent is never run separately (except through stages whose subnet is skipped).
Only one stage boundary's features are held at a time (on the model's device), for all
recalibration batches (train-mode BatchNorm) and all validation batches (eval mode), plus the
backbone outputs of earlier layers when ``out_indices`` asks for them — for classification set
``out_indices`` to the last stage. With ``ns`` stages of similar cost a step costs about
``(ns + 1) / 2`` full networks instead of ``ns``; ``benchmarks/search_prefix_cache.py`` measures
it.

**No leaking statistics.** Every BatchNorm a candidate uses is reset and recalibrated for that
candidate (a candidate's statistics are a function of the weights, its allocation and the
recalibration batches only, whatever was evaluated before), and the model's own statistics,
momenta, train/eval flags and allocation are restored when an evaluation returns — so the
fine-tuned super-network is unchanged for later training or checkpointing.
"""
from __future__ import annotations

import contextlib
from itertools import islice
from typing import Iterable, NamedTuple

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from common.batchnorm import (
    batchnorms,
    begin_recalibration,
    cumulative_averages,
    end_recalibration,
    preserved_bn_stats,
    recalibrate_bn,
    restored_modes,
)

from .protocol import BatchEvaluator, StepEvaluator, SuperNetEvaluator

METRICS = ('accuracy', 'loss')


class PerImage(NamedTuple):
    """The last candidate's record per validation image: top-1 hit and log-likelihood of the
    true class (minus the cross-entropy)."""
    correct: np.ndarray
    loglik: np.ndarray


class ClassificationEvaluator(StepEvaluator, BatchEvaluator, SuperNetEvaluator):
    """``evaluate(allocation) -> top-1`` of a super-network classifier (see the module doc).

    Args:
        model: ``backbone`` (a super-network), ``head`` and optional ``neck``.
        train_batches: target training batches ``(images, labels)``; the first
            ``num_recal_batches`` are read once and reused for every candidate.
        val_batches: the held-out validation batches (read once and kept as given).
        num_recal_batches: how many training batches recalibrate BatchNorm.
        metric: 'accuracy' (top-1 in [0, 1]) or 'loss' (minus the mean cross-entropy), both
            higher-is-better.
        prefix_cache: :meth:`evaluate_step` shares stage prefixes (default). ``False`` evaluates
            each subnet from scratch, the reference the cache is tested against.
        sharded: the batches are this rank's shard of a distributed evaluation
            (``torch.distributed`` initialised): recalibrated statistics are averaged over the
            ranks (exact for equal batch counts per rank), counts are summed, and rank 0's score
            is broadcast so every rank takes the same search decision.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from supernet import build_backbone, get_space
        >>> space = get_space('resnet_basic').scaled(0.25, small_input=True)
        >>> model = nn.Module()
        >>> model.backbone = build_backbone(space, out_indices=(3,))
        >>> model.head = lambda feats: feats[-1].mean((2, 3))[:, :10]   # (B, 10) logits
        >>> batches = [(torch.rand(8, 3, 16, 16), torch.randint(10, (8,))) for _ in range(3)]
        >>> evaluate = ClassificationEvaluator(model, batches[:2], batches[2:],
        ...                                    num_recal_batches=2)
        >>> parent, subnets = (1, 1, 1, 1), [(2, 1, 1, 1), (1, 1, 2, 1)]
        >>> cached = dict(evaluate.evaluate_step(parent, subnets))
        >>> cached == {subnet: evaluate(subnet) for subnet in subnets}
        True
    """

    def __init__(self, model: nn.Module, train_batches: Iterable, val_batches: Iterable,
                 num_recal_batches: int, metric: str = 'accuracy', prefix_cache: bool = True,
                 sharded: bool = False):
        backbone = getattr(model, 'backbone', None)
        needed = ('set_allocation', 'forward_stem', 'forward_layers', 'layer_names', 'space')
        missing = [name for name in needed if not hasattr(backbone, name)]
        if missing:
            raise TypeError(f'model.backbone must be a super-network of the supernet package; '
                            f'{type(backbone).__name__} lacks {missing}')
        if not callable(getattr(model, 'head', None)):
            raise TypeError('model.head must map the backbone outputs to logits')
        if metric not in METRICS:
            raise ValueError(f'metric={metric!r}: allowed {METRICS}')
        if num_recal_batches < 1:
            raise ValueError(f'num_recal_batches={num_recal_batches} must be >= 1')
        self.model, self.backbone, self.metric = model, backbone, metric
        self.neck, self.head = getattr(model, 'neck', None), model.head
        self.prefix_cache = prefix_cache
        self.sharded = sharded and dist.is_available() and dist.is_initialized()
        self.recal_images = [b[0] for b in islice(train_batches, num_recal_batches)]
        if len(self.recal_images) < num_recal_batches:
            raise ValueError(f'train_batches has {len(self.recal_images)} batches, fewer than '
                             f'num_recal_batches={num_recal_batches}')
        self.val_batches = [(b[0], b[1]) for b in val_batches]
        if not self.val_batches:
            raise ValueError('val_batches is empty')
        space = backbone.space
        self._stage_layer = [backbone.layer_names.index(s.name) for s in space.searched]
        self._layer_bns = [batchnorms(getattr(backbone, n)) for n in backbone.layer_names]
        in_layers = {id(m) for bns in self._layer_bns for m in bns}
        self._stem_bns = [m for m in batchnorms(backbone) if id(m) not in in_layers]
        in_backbone = {id(m) for m in backbone.modules()}
        self._head_bns = [m for m in batchnorms(model) if id(m) not in in_backbone]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def supernet(self) -> nn.Module:
        """The super-network whose subnets are scored (``model.backbone``)."""
        return self.backbone

    # ------------------------------------------------------------------- uncached reference
    @torch.no_grad()
    def __call__(self, allocation) -> float:
        """Score of one allocation: full recalibration, then a full validation pass."""
        device = self.device
        with self._session():
            self.backbone.set_allocation(allocation)
            recalibrate_bn(self.model, self.recal_images, lambda x: self._logits(x.to(device)),
                           across_ranks=self.sharded)
            return self._score((self._logits(x.to(device)), y) for x, y in self.val_batches)

    @torch.no_grad()
    def score_backbone(self, backbone: nn.Module, allocation=None) -> float:
        """Score of a static ``backbone`` standing in for the super-network (e.g. a candidate
        deeper than it, initialized by weight transfer): recalibration and validation as in
        :meth:`__call__`. ``model.backbone`` is the super-network again afterwards, its state
        untouched; ``backbone`` keeps its recalibrated statistics. (``allocation`` names the
        candidate in :class:`~engine.detection.DetectionEvaluator`'s timings; unused here.)
        """
        device = self.device
        backbone = backbone.to(device)
        with self._session(), swapped_backbone(self.model, backbone):
            backbone.eval()
            recalibrate_bn(self.model, self.recal_images,
                           lambda x: self._head(backbone(x.to(device))), across_ranks=self.sharded)
            return self._score((self._head(backbone(x.to(device))), y)
                               for x, y in self.val_batches)

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        return self._head(self.backbone(images))

    def _head(self, feats: tuple) -> torch.Tensor:
        return self.head(self.neck(feats) if self.neck is not None else feats)

    def _score(self, logits_and_labels) -> float:
        # The sums live on the model's device: NCCL reduces CUDA tensors only, gloo either.
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)  # samples, correct, loss
        correct, loglik = [], []
        for logits, labels in logits_and_labels:
            labels = labels.to(logits.device)
            hits = logits.argmax(1) == labels
            losses = F.cross_entropy(logits.double(), labels, reduction='none')
            sums += torch.stack([losses.new_tensor(len(labels)), hits.sum().double(),
                                 losses.sum()]).to(sums.device)
            correct.append(hits.cpu())
            loglik.append(-losses.cpu())
        # Both metrics per image of this rank, for standard errors (bootstrap over images) and
        # for comparing the two scores from one pass.
        self.last_per_image = PerImage(torch.cat(correct).numpy(), torch.cat(loglik).numpy())
        if self.sharded:
            dist.all_reduce(sums)
        score = (sums[1] if self.metric == 'accuracy' else -sums[2]).div(sums[0]).reshape(1)
        if self.sharded:  # one decision for all ranks, whatever the float reduction order
            dist.broadcast(score, src=0)
        return float(score)

    def _end_recalibration(self, bns: list):
        """Back to eval mode; when sharded, every rank takes the mean over the ranks."""
        end_recalibration(bns, across_ranks=self.sharded)

    # ------------------------------------------------------------------ cached greedy step
    @torch.no_grad()
    def evaluate_step(self, parent, subnets):
        """Yield ``(subnet, score)`` for every subnet of ``parent``, sharing stage prefixes.

        Each subnet must contain ``parent`` (``subnet[i] >= parent[i]``) and differ from it; its
        first larger stage ``k`` decides what it shares. Subnets are evaluated in order of
        ``k`` (stable), each yielded as soon as it is scored. Between two yields the model holds
        the yielded subnet's allocation and recalibrated statistics (in eval mode); everything
        is restored when the generator finishes or is closed. Scores equal :meth:`__call__`'s
        up to float rounding (the same operations, grouped by stage instead of by batch).
        """
        space = self.backbone.space
        parent = space.validate(parent)
        subnets = [space.validate(c) for c in subnets]
        if not self.prefix_cache:
            for subnet in subnets:
                yield subnet, self(subnet)
            return
        groups = {}
        for subnet in subnets:
            if any(c < p for c, p in zip(subnet, parent)) or subnet == parent:
                raise ValueError(f'subnet {subnet} does not extend parent {parent} (each subnet '
                                 'needs subnet[i] >= parent[i] and one more block somewhere)')
            k = next(i for i, (c, p) in enumerate(zip(subnet, parent)) if c != p)
            groups.setdefault(k, []).append(subnet)
        order = sorted(groups)
        if not order:
            return
        with self._session():
            self.backbone.set_allocation(parent)
            state, position = self._stem(), 0  # features at the input of layer ``position``
            for k in order:
                layer, last = self._stage_layer[k], k == order[-1]
                if position < layer:  # stages whose subnet is skipped: run the parent there
                    self.backbone.set_allocation(parent)
                    state, position = self._advance(state, position, layer), layer
                stage = getattr(self.backbone, self.backbone.layer_names[layer])
                for n, subnet in enumerate(groups[k]):
                    self.backbone.set_allocation(subnet)
                    # Block p_k - 1 of stage k ends the parent's stage k: the first subnet's run
                    # yields the state after it (not needed after the last group).
                    capture = stage[parent[k] - 1] if n == 0 and not last else None
                    score, after = self._suffix(state, layer, capture)
                    yield subnet, score
                    if capture is not None:
                        next_state = after
                if not last:
                    state, position = next_state, layer + 1

    # --------------------------------------------------------------- many allocations at once
    @torch.no_grad()
    def evaluate_all(self, allocations):
        """Yield ``(allocation, score)`` for every allocation (duplicates once), sharing every
        common prefix of blocks: an exhaustive search's frontier as a tree.

        In a single-path super-network the first ``j`` blocks of stage ``k`` compute the same
        features (and recalibrate to the same statistics) in every allocation that agrees on
        stages ``< k`` and has ``≥ j`` blocks there. So the allocations are walked depth first,
        stage by stage and block by block: each block runs (and recalibrates) once per distinct
        prefix, and only the layers after the last searched stage and the head run per
        allocation, which saves the work that grouping them by stage through
        :meth:`evaluate_step` repeats (``benchmarks/search_prefix_cache.py --frontier`` compares
        the two; docs/benchmarks.md). Scores equal :meth:`__call__`'s up to float rounding; the
        order of the yields is the walk's (sorted allocations). Features of one prefix per stage
        are held at a time.
        """
        space = self.backbone.space
        allocations = sorted(dict.fromkeys(space.validate(a) for a in allocations))
        if not self.prefix_cache:
            for allocation in allocations:
                yield allocation, self(allocation)
            return
        if not allocations:
            return
        with self._session():
            self.backbone.set_allocation(allocations[0])
            yield from self._walk(self._stem(), 0, 0, allocations)

    def _walk(self, state: tuple, position: int, k: int, group: list):
        """Score ``group`` (allocations agreeing on stages ``< k``) from ``state``, the features
        at the input of layer ``position``."""
        layer = self._stage_layer[k]
        if position < layer:  # layers between searched stages do not depend on the allocation
            self.backbone.set_allocation(group[0])
            state = self._advance(state, position, layer)
        stage = getattr(self.backbone, self.backbone.layer_names[layer])
        by_depth = {}
        for allocation in group:
            by_depth.setdefault(allocation[k], []).append(allocation)
        for depth in range(1, max(by_depth) + 1):
            state = self._advance_block(state, stage[depth - 1])
            members = by_depth.get(depth)
            if members is None:
                continue
            after = tuple(self._after([x for x, _ in part], part, layer) for part in state)
            if k + 1 < len(self._stage_layer):
                yield from self._walk(after, layer + 1, k + 1, members)
                continue
            for allocation in members:  # one: the last stage's depth completes the prefix
                self.backbone.set_allocation(allocation)
                score, _ = self._suffix(after, layer + 1, None)
                yield allocation, score

    def _advance_block(self, state: tuple, block: nn.Module) -> tuple:
        """Run one block of a stage on ``state``, recalibrating its BatchNorms."""
        bns = batchnorms(block)
        begin_recalibration(bns)
        recal = [(block(x), outs) for x, outs in state[0]]
        self._end_recalibration(bns)
        return recal, [(block(x), outs) for x, outs in state[1]]

    # A state is (recalibration features, validation features), each a list with one
    # (x, outs) pair per batch: x the input of the next layer, outs the outputs collected so far
    # (backbone ``out_indices`` of earlier layers).
    def _stem(self) -> tuple:
        device = self.device
        begin_recalibration(self._stem_bns)
        recal = [(self.backbone.forward_stem(x.to(device)), {}) for x in self.recal_images]
        self._end_recalibration(self._stem_bns)
        val = [(self.backbone.forward_stem(x.to(device)), {}) for x, _ in self.val_batches]
        return recal, val

    def _layers(self, features: list, start: int, stop: int | None = None):
        """Run layers ``start..stop-1`` on each (x, outs); a generator, so a caller that does
        not keep the results holds one batch at a time."""
        for x, outs in features:
            x, new = self.backbone.forward_layers(x, start, stop)
            yield x, {**outs, **new}

    def _advance(self, state: tuple, start: int, stop: int) -> tuple:
        """Run the current allocation's layers ``start..stop-1``, recalibrating them."""
        bns = [m for j in range(start, stop) for m in self._layer_bns[j]]
        begin_recalibration(bns)
        recal = list(self._layers(state[0], start, stop))
        self._end_recalibration(bns)
        return recal, list(self._layers(state[1], start, stop))

    def _suffix(self, state: tuple, start: int, capture: nn.Module | None) -> tuple:
        """Score of the current allocation from layer ``start`` on: recalibrate layers
        ``≥ start`` and the neck/head, then validate.

        With ``capture`` (a block of layer ``start``), also return the state after layer
        ``start`` as it would be if the layer ended at that block.
        """
        bns = [m for layer_bns in self._layer_bns[start:] for m in layer_bns] + self._head_bns
        recal_taken, val_taken = [], []
        sink = [recal_taken]
        handle = None if capture is None else capture.register_forward_hook(
            lambda module, args, out: sink[0].append(out))
        try:
            begin_recalibration(bns)
            for _, outs in self._layers(state[0], start):
                if self._head_bns:
                    self._head(_out_tuple(outs))
            self._end_recalibration(bns)
            sink[0] = val_taken
            score = self._score((self._head(_out_tuple(outs)), labels) for (_, outs), (_, labels)
                                in zip(self._layers(state[1], start), self.val_batches))
        finally:
            if handle is not None:
                handle.remove()
        if capture is None:
            return score, None
        return score, (self._after(recal_taken, state[0], start),
                       self._after(val_taken, state[1], start))

    def _after(self, taken: list, features: list, layer: int) -> list:
        """Features after ``layer`` from its captured outputs ``taken``, one per batch."""
        if layer not in self.backbone.out_indices:
            return [(x, outs) for x, (_, outs) in zip(taken, features)]
        return [(x, {**outs, layer: x}) for x, (_, outs) in zip(taken, features)]

    @contextlib.contextmanager
    def _session(self):
        """Restore BatchNorm statistics, momenta, train/eval flags and the allocation on exit;
        inside, the model is in eval mode and BatchNorm uses cumulative averages."""
        allocation = self.backbone.allocation
        try:
            with preserved_bn_stats(self.model), restored_modes(self.model), \
                    cumulative_averages(batchnorms(self.model)):
                self.model.eval()
                yield
        finally:
            self.backbone.set_allocation(allocation)


def _out_tuple(outs: dict) -> tuple:
    return tuple(outs[i] for i in sorted(outs))


@contextlib.contextmanager
def swapped_backbone(model: nn.Module, backbone: nn.Module):
    """``model.backbone`` is ``backbone`` inside, the original one again on exit."""
    original = model.backbone
    model.backbone = backbone
    try:
        yield backbone
    finally:
        model.backbone = original
