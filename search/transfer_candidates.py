"""Candidates deeper than the super-network, scored after initializing them by weight transfer.

The super-network holds every subnet up to its maximum depth per stage. ``greedy_search(...,
beyond_max=N)`` may ask for a stage up to ``N`` blocks deeper; :class:`TransferringEvaluator`
scores such a candidate as an ordinary one is scored, with weights made for it:

1. take the super-network's subnet at the *clipped* allocation (each depth capped at its stage's
   maximum) — the deepest subnet the candidate contains;
2. build the candidate as a subnet (``supernet.build_subnet``, so ``out_indices``,
   ``norm_eval``, ... are the super-network's) and initialize it from that subnet with
   :func:`transfer.transfer_weights` (``method='dpiat'`` by default: it writes every tensor of a
   deeper stage, each new block from one of the subnet's blocks of that stage);
3. copy the subnet's own tensors over exactly: the blocks both have keep their inherited weights
   (DPIAT's dynamic programming would spread the subnet's blocks over the deeper stage instead),
   so only the new blocks come from the transfer;
4. score it with the wrapped evaluator's ``score_backbone`` standing in for the super-network
   (BatchNorm recalibration and validation as for any candidate); the super-network is back in
   place, its weights, statistics and allocation untouched, when the score returns.

Candidates inside the space go to the wrapped evaluator unchanged (with its prefix caching across
a greedy step). For the log, :meth:`TransferringEvaluator.transferred` says how a candidate was
made: ``{'method': 'dpiat', 'source': [the clipped allocation], 'coverage': fraction of the new
blocks' tensors the transfer wrote}``, or ``None`` for a subnet of the super-network.

    evaluate = TransferringEvaluator(ClassificationEvaluator(model, train, val, 20), 'dpiat')
    result = greedy_search(space, 16, evaluate, beyond_max=2, log='work_dirs/search.jsonl')
    print(result.format_chain())         # 1-1-1-1 -> ... -> 1-2-8-2*   (* = transferred)
"""
from __future__ import annotations

from initialize.grow import grow_subnet
from transfer import METHODS

from .protocol import ProvenanceEvaluator, StepEvaluator, SuperNetEvaluator


class TransferringEvaluator(StepEvaluator, ProvenanceEvaluator):
    """``evaluate(allocation) -> float`` that also scores allocations past the super-network's
    depth, their extra blocks initialized by weight transfer (see the module doc).

    Args:
        evaluator: a :class:`~search.evaluator.ClassificationEvaluator` or
            :class:`~engine.detection.DetectionEvaluator` (anything with ``supernet``,
            ``score_backbone(backbone, allocation)`` and ``__call__``).
        method (str): the transfer method, one of ``transfer.METHODS``: 'dpiat' (default),
            'hmt', 'tli'.
        **transfer_options: passed to :func:`transfer.transfer_weights` (e.g. TLI's ``lam``).

    Attributes:
        reports (dict): allocation -> the :class:`~transfer.TransferReport` of its transfer.
    """

    def __init__(self, evaluator, method: str = 'dpiat', **transfer_options):
        if method not in METHODS:
            raise ValueError(f'transfer method={method!r}: allowed '
                             f'{", ".join(map(repr, sorted(METHODS)))}')
        if not isinstance(evaluator, SuperNetEvaluator):
            missing = [name for name in ('supernet', 'score_backbone', '__call__')
                       if not hasattr(evaluator, name)]
            raise TypeError(f'{type(evaluator).__name__} cannot score candidates past the '
                            f'super-network: it lacks {missing} (a SuperNetEvaluator of '
                            'search.protocol, e.g. ClassificationEvaluator or DetectionEvaluator)')
        self.evaluator, self.method, self.transfer_options = evaluator, method, transfer_options
        self.supernet = evaluator.supernet
        self.space = self.supernet.space
        self.reports = {}
        self._transferred = {}

    def __call__(self, allocation) -> float:
        allocation = self.space.validate(allocation, allow_deeper=True)
        if self.in_space(allocation):
            return self.evaluator(allocation)
        return self._score_transferred(allocation)

    def evaluate_step(self, parent, subnets):
        """Yield ``(subnet, score)``: subnets inside the space through the wrapped evaluator's
        ``evaluate_step`` (sharing stage prefixes), then the others one by one."""
        subnets = [self.space.validate(c, allow_deeper=True) for c in subnets]
        inside = [c for c in subnets if self.in_space(c)]
        if inside and isinstance(self.evaluator, StepEvaluator):
            # a subnet contains its parent: the parent is inside too
            yield from self.evaluator.evaluate_step(parent, inside)
        else:
            for subnet in inside:
                yield subnet, self.evaluator(subnet)
        for subnet in subnets:
            if not self.in_space(subnet):
                yield subnet, self._score_transferred(subnet)

    def transferred(self, allocation) -> dict | None:
        """How ``allocation``'s weights were made, for the search log; ``None``: inherited."""
        return self._transferred.get(tuple(allocation))

    def in_space(self, allocation) -> bool:
        return self.space.clipped(allocation) == tuple(allocation)

    def build(self, allocation) -> tuple:
        """``(backbone, entry)``: the subnet backbone of ``allocation``, initialized as in the
        module doc, and its log entry ``{'method', 'source', 'coverage'}``."""
        allocation = self.space.validate(allocation, allow_deeper=True)
        if self.in_space(allocation):
            raise ValueError(f'{allocation} is a subnet of the super-network (max depths '
                             f'{self.space.max_depths}): it inherits its weights, see get_subnet')
        source = self.space.clipped(allocation)
        backbone = self.supernet.build_subnet(allocation)
        report, covered = grow_subnet(self.supernet.get_subnet(source), backbone, self.method,
                                      **self.transfer_options)
        self.reports[allocation] = report
        entry = {'method': self.method, 'source': list(source), 'coverage': round(covered, 6)}
        return backbone.train(self.supernet.training), entry

    def _score_transferred(self, allocation: tuple) -> float:
        backbone, entry = self.build(allocation)
        score = self.evaluator.score_backbone(backbone, allocation)
        self._transferred[allocation] = entry
        return score
