"""Greedy block search (paper 004, Alg. 1), its baselines, budgets, logs and evaluators.

The algorithms take a plain ``evaluate(allocation) -> float`` (higher is better) and know no
engine; :class:`ClassificationEvaluator` is the plain-PyTorch evaluator for classifiers (BatchNorm
recalibration + top-1 on a held-out split, with prefix caching across a greedy step);
:class:`~search.detection.DetectionEvaluator` scores super-network detectors built by an mmengine
Runner (BatchNorm recalibration + mmdet's COCO bbox mAP); :class:`TransferringEvaluator` wraps
either so that ``greedy_search(..., beyond_max=N)`` can score candidates deeper than the
super-network, their extra blocks initialized by weight transfer.
``recalibrate_bn`` is :func:`supernet.batchnorm.recalibrate_bn`, re-exported.

    >>> from search import greedy_search, make_budget
    >>> result = greedy_search('resnet_basic', 6, lambda a: -abs(a[2] - 3), counter=False)
    >>> result.best.allocation, [sum(r.allocation) for r in result.chain]
    ((1, 1, 3, 1), [4, 5, 6])
"""
from .baselines import evolution_search, exhaustive_search, random_search
from .budgets import BUDGET_KINDS, Budget, make_budget, reweighting
from .cache import EvaluationCache
from .complexity import ComplexityCounter
from supernet.batchnorm import recalibrate_bn

from .detection import DetectionEvaluator
from .evaluator import ClassificationEvaluator, split_train_val
from .greedy import greedy_search
from .log import Record, SearchLog
from .ranking import kendall_tau
from .result import SearchResult
from .transfer_candidates import TransferringEvaluator

__all__ = [
    'BUDGET_KINDS', 'Budget', 'ClassificationEvaluator', 'ComplexityCounter', 'DetectionEvaluator',
    'EvaluationCache', 'Record', 'SearchLog', 'SearchResult', 'evolution_search',
    'exhaustive_search', 'greedy_search', 'kendall_tau', 'make_budget', 'random_search',
    'TransferringEvaluator', 'recalibrate_bn', 'reweighting', 'split_train_val',
]
