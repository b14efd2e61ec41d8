"""Greedy block search (paper 004, Sec. 3.3, Alg. 1).

Start from ``[1, …, 1]``; at every step evaluate the children that add one block to one stage and
keep the best, until no child fits the budget. The result holds the best allocation of every size
on the way (the paper's "optimal architectures for models whose sizes range from ns to C").

* A child is skipped, not evaluated, when its stage is at the super-network's depth or when it
  would exceed the budget. With ``beyond_max=N`` a stage may grow up to ``N`` blocks past that
  depth instead; such candidates go to ``evaluate`` like any other, which must be able to score
  them (:class:`search.transfer_candidates.TransferringEvaluator` initializes their extra blocks
  by weight transfer).
* Ties go to the child that grows the earliest stage (lowest index), so a run is deterministic
  for a deterministic ``evaluate``.
* ``[1, …, 1]`` is not evaluated unless ``evaluate_start=True``: with a block budget ``C`` the
  search makes ``Σ_{c=ns}^{C-1} ns`` evaluations, minus skipped children.

    >>> target = (1, 3, 2, 2)
    >>> def evaluate(allocation):   # closest to ``target`` is best
    ...     return -sum((a - t) ** 2 for a, t in zip(allocation, target))
    >>> result = greedy_search('resnet_basic', 8, evaluate, counter=False)
    >>> [r.allocation for r in result.chain]
    [(1, 1, 1, 1), (1, 2, 1, 1), (1, 3, 1, 1), (1, 3, 2, 1), (1, 3, 2, 2)]
    >>> result.best.allocation, result.num_evaluated
    ((1, 3, 2, 2), 16)
"""
from __future__ import annotations

import numbers
from typing import Callable

from .budgets import resolve_budget
from .cache import EvaluationCache
from .progress import SearchProgress
from .result import SearchResult


def greedy_search(space, budget, evaluate: Callable, *, log=None, counter=None,
                  evaluate_start: bool = False, progress: bool = False,
                  beyond_max: int = 0) -> SearchResult:
    """Run Alg. 1 and return the chain of best allocations.

    Args:
        space (str | SearchSpace): the super-network's search space.
        budget (Budget | int): a :class:`~search.budgets.Budget`, or an int ``C`` for the block
            budget ``make_budget(space, 'blocks', C)``.
        evaluate: ``evaluate(allocation) -> float``, higher is better; optionally with
            ``evaluate_step(parent, children)`` to evaluate a step's children together (see
            :mod:`search.cache`).
        log (SearchLog | path | None): JSONL log; finished evaluations in it are not repeated.
        counter (ComplexityCounter | None | False): fills FLOPs and parameters of each record.
            Default: the budget's counter, else a new one for ``space``; ``False``: no counts.
        evaluate_start: also evaluate ``[1, …, 1]`` (step 0), so the chain's first entry has
            a score.
        progress: show a tqdm bar over evaluated candidates (step, candidate, best so far).
        beyond_max: how many blocks a stage may grow past its maximum depth in ``space``
            (default 0: never). The budget applies as usual; FLOPs and parameters of such
            candidates are those of the static backbone of that depth.

    Returns:
        :class:`~search.result.SearchResult` with ``chain`` (one record per size, the first one
        ``[1, …, 1]``) and ``best`` = its last entry.
    """
    space, budget, counter = resolve_budget(space, budget, counter)
    if (isinstance(beyond_max, bool) or not isinstance(beyond_max, numbers.Integral)
            or beyond_max < 0):
        raise ValueError(f'beyond_max={beyond_max!r}: allowed an integer >= 0 (blocks a stage '
                         'may grow past its maximum depth; 0 = stay in the space)')
    budget = budget.extended(beyond_max)  # its growable() now allows the extra depth
    cache = EvaluationCache(evaluate, log, counter, 'greedy', meta={'space': space.name})
    parent = space.min_depths
    start = cache.evaluate([parent], step=0)[0] if evaluate_start else cache.unscored(parent)
    chain, history, step = [start], [start] if evaluate_start else [], 0
    desc = f'greedy {budget.space.name}, {budget.kind} <= {budget.limit:g}'
    steps = f'/{int(budget.limit) - space.num_stages}' if budget.kind == 'blocks' else ''
    with SearchProgress(desc, progress) as report:
        while grow := budget.growable(parent):
            step += 1
            report.new_step(step, f'{steps} (from {sum(parent)} blocks)')
            children = [tuple(d + (i == k) for i, d in enumerate(parent)) for k in grow]
            records = cache.evaluate(children, step, parent=parent, on_record=report)
            best = max(records, key=lambda r: r.score)  # max() keeps the first: earliest stage
            history += records
            chain.append(best)
            parent = best.allocation
    return SearchResult('greedy', space.name, budget.to_dict(), chain[-1], history, chain,
                        cache.num_evaluated, cache.num_reused)

