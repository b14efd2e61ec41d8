"""Greedy block search (Sun et al., Alg. 1), its baselines, budgets, logs and evaluators.

The algorithms take a plain ``evaluate(allocation) -> float`` (higher is better) and know no
engine: ``import search`` (or ``search.greedy``) imports neither mmdet nor mmengine's Runner.
:class:`ClassificationEvaluator` is the plain-PyTorch evaluator for classifiers (BatchNorm
recalibration + top-1 on a held-out split, with prefix caching across a greedy step);
:class:`TransferringEvaluator` wraps an evaluator so that ``greedy_search(..., beyond_max=N)`` can
score candidates deeper than the super-network, their extra blocks initialized by weight
transfer. The engine adapters live in :mod:`engine` (:mod:`engine.evaluators`: evaluators built
from an mmengine Runner; :mod:`engine.detection`: ``DetectionEvaluator``, mmdet's COCO mAP;
:mod:`engine.pipeline`: ``tools/greedy_search.py``).

    >>> from search import greedy_search, make_budget
    >>> result = greedy_search('resnet_basic', 6, lambda a: -abs(a[2] - 3), counter=False)
    >>> result.best.allocation, [sum(r.allocation) for r in result.chain]
    ((1, 1, 3, 1), [4, 5, 6])
"""
from common import deprecation
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

deprecation.install()  # search.engine, .detection, .pipeline, .grow, .warm_start moved
# the engine adapters, once reachable from here
__getattr__ = deprecation.renamed(__name__, {
    'DetectionEvaluator': 'engine.detection:DetectionEvaluator',
    'EVALUATORS': 'engine.evaluators:EVALUATORS',
    'classification_evaluator': 'engine.evaluators:classification_evaluator',
    'run_search': 'engine.pipeline:run_search'})


__all__ = [
    'BUDGET_KINDS', 'Budget', 'ClassificationEvaluator', 'ComplexityCounter', 'EvaluationCache',
    'Record', 'SearchLog', 'SearchResult', 'TransferringEvaluator', 'crowd_at_the_top',
    'evolution_search', 'exhaustive_search', 'greedy_search', 'kendall_tau', 'make_budget',
    'random_search', 'recalibrate_bn', 'reweighting', 'split_train_val',
]
