"""What a search asks of an evaluator, written down once.

A search needs one thing: ``evaluate(allocation) -> float``, higher is better — any callable
(:class:`Evaluator`). An evaluator that can do more says so by deriving from the protocols
below (the project's evaluators do), and the search uses what is declared:

* :class:`StepEvaluator`: ``evaluate_step(parent, subnets)`` scores the subnets of one greedy
  step together (e.g. sharing stage prefixes); the greedy and beam searches use it.
* :class:`BatchEvaluator`: ``evaluate_all(allocations)`` scores many at once (an exhaustive
  frontier as a prefix tree); the baselines use it.
* :class:`SuperNetEvaluator`: ``supernet`` and ``score_backbone(backbone, allocation)``: it can
  score a subnet standing in for the super-network, which candidates deeper than the
  super-network need (:class:`~search.transfer_candidates.TransferringEvaluator`).
* :class:`ProvenanceEvaluator`: ``transferred(allocation)`` says how a candidate's weights were
  made, for the search log (``None``: inherited).

What a score is (for log lines, the search log's picks, plots) comes from the evaluator's
``score_name`` attribute, else from its ``metric`` (:func:`score_name`).

The classes are ``runtime_checkable`` Protocols: a user's object with the same methods is taken
as well, so a declared base class is documentation, not a requirement. Plain Python; no engine.

    >>> class Step(StepEvaluator):
    ...     def __call__(self, allocation):
    ...         return float(sum(allocation))
    ...     def evaluate_step(self, parent, subnets):
    ...         return ((subnet, self(subnet)) for subnet in subnets)
    >>> isinstance(Step(), StepEvaluator), isinstance(Step(), BatchEvaluator)
    (True, False)
    >>> isinstance(lambda allocation: 0.0, Evaluator)
    True
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Evaluator(Protocol):
    """``evaluate(allocation) -> float``, higher is better."""

    def __call__(self, allocation) -> float: ...


@runtime_checkable
class StepEvaluator(Evaluator, Protocol):
    def evaluate_step(self, parent, subnets: Iterable) -> Iterator[tuple]:
        """Yield ``(subnet, score)`` for every subnet of ``parent`` (each contains it)."""


@runtime_checkable
class BatchEvaluator(Evaluator, Protocol):
    def evaluate_all(self, allocations: Iterable) -> Iterator[tuple]:
        """Yield ``(allocation, score)`` for every allocation, in any order."""


@runtime_checkable
class SuperNetEvaluator(Evaluator, Protocol):
    supernet: 'torch.nn.Module'

    def score_backbone(self, backbone: 'torch.nn.Module', allocation=None) -> float:
        """The score of a static ``backbone`` standing in for the super-network."""


@runtime_checkable
class ProvenanceEvaluator(Evaluator, Protocol):
    def transferred(self, allocation) -> dict | None:
        """How ``allocation``'s weights were made (``None``: inherited)."""


# The classification evaluator's metrics: both scored on the target's held-out split.
METRIC_NAMES = {'loss': 'held-out log-likelihood', 'accuracy': 'held-out top-1'}


def score_name(evaluate) -> str:
    """What ``evaluate``'s scores are, to label them wherever they are shown: its
    ``score_name``, else its ``metric`` (``'loss'``: the held-out mean log-likelihood of the true
    class; ``'accuracy'``: held-out top-1; another, e.g. a detector's ``'coco/bbox_mAP'``:
    ``'held-out coco/bbox_mAP'``), looked up through wrappers (an ``evaluator`` attribute, as
    :class:`~search.transfer_candidates.TransferringEvaluator` has); ``'score'`` when it does not
    say.

        >>> class Scored:
        ...     metric = 'loss'
        >>> score_name(Scored()), score_name(lambda allocation: 0.0)
        ('held-out log-likelihood', 'score')
    """
    seen = set()
    while evaluate is not None and id(evaluate) not in seen:
        seen.add(id(evaluate))
        name = getattr(evaluate, 'score_name', None)
        if isinstance(name, str) and name:
            return name
        metric = getattr(evaluate, 'metric', None)
        if isinstance(metric, str) and metric:
            return METRIC_NAMES.get(metric, f'held-out {metric}')
        evaluate = getattr(evaluate, 'evaluator', None)
    return 'score'
