"""Greedy block search (Sun et al., Alg. 1), its baselines, budgets, logs and evaluators.

The algorithms take a plain ``evaluate(allocation) -> float`` (higher is better) and know no
engine: ``import search`` (or ``search.greedy``) imports neither mmdet nor mmengine's Runner.
:class:`ClassificationEvaluator` is the plain-PyTorch evaluator for classifiers (BatchNorm
recalibration + top-1 on a held-out split, with prefix caching across a greedy step);
:class:`TransferringEvaluator` wraps an evaluator so that ``greedy_search(..., beyond_max=N)`` can
score candidates deeper than the super-network, their extra blocks initialized by weight
transfer. The engine adapters load on first use: :mod:`search.engine` (evaluators built from an
mmengine Runner), :mod:`search.detection` (``DetectionEvaluator``: mmdet's COCO mAP) and
:mod:`search.pipeline` (``tools/greedy_search.py``).

    >>> from search import greedy_search, make_budget
    >>> result = greedy_search('resnet_basic', 6, lambda a: -abs(a[2] - 3), counter=False)
    >>> result.best.allocation, [sum(r.allocation) for r in result.chain]
    ((1, 1, 3, 1), [4, 5, 6])
"""
import importlib

from common.batchnorm import recalibrate_bn
from common.splits import split_train_val

from .baselines import evolution_search, exhaustive_search, random_search
from .budgets import BUDGET_KINDS, Budget, make_budget, reweighting
from .cache import EvaluationCache
from .complexity import ComplexityCounter
from .evaluator import ClassificationEvaluator
from .greedy import greedy_search
from .log import Record, SearchLog
from .ranking import crowd_at_the_top, kendall_tau
from .result import SearchResult
from .transfer_candidates import TransferringEvaluator

# engine adapters: imported on first access (PEP 562), so the algorithms stay engine-free
_LAZY = {'DetectionEvaluator': 'search.detection', 'EVALUATORS': 'search.engine',
         'classification_evaluator': 'search.engine', 'run_search': 'search.pipeline'}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'BUDGET_KINDS', 'Budget', 'ClassificationEvaluator', 'ComplexityCounter', 'EvaluationCache',
    'Record', 'SearchLog', 'SearchResult', 'TransferringEvaluator', 'crowd_at_the_top',
    'evolution_search', 'exhaustive_search', 'greedy_search', 'kendall_tau', 'make_budget',
    'random_search', 'recalibrate_bn', 'reweighting', 'split_train_val', *_LAZY,
]
