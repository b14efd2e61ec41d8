"""Baselines for the greedy search over the same budget frontier: random, exhaustive, evolution.

All three draw from the budget's *frontier* (:meth:`~search.budgets.Budget.frontier`: allocations
that fit and cannot take another block; for a block budget ``C``, every allocation of ``C``
blocks, the paper's ``A_C``), never evaluate an allocation twice, and share the log format of the
greedy search, so a log can be resumed or shared between them. To compare with greedy at equal
cost, pass ``num_evaluations=len(greedy_result.history)``.

    >>> def evaluate(a):
    ...     return a[2] - 2 * abs(a[0] - 2)
    >>> exhaustive_search('resnet_basic', 7, evaluate, counter=False).best.allocation
    (2, 1, 3, 1)
    >>> result = random_search('resnet_basic', 7, evaluate, num_evaluations=5, counter=False)
    >>> len(result.history), all(sum(r.allocation) == 7 for r in result.history)
    (5, True)
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .budgets import resolve_budget
from .cache import EvaluationCache
from .progress import SearchProgress
from .protocol import score_name
from .result import SearchResult


def exhaustive_search(space, budget, evaluate: Callable, *, max_evaluations: int = 1000,
                      log=None, counter=None, progress: bool = False) -> SearchResult:
    """Evaluate every allocation on the budget's frontier, in lexicographic order.

    Raises ValueError when the frontier has more than ``max_evaluations`` allocations.
    """
    space, budget, counter = resolve_budget(space, budget, counter)
    frontier = budget.frontier()
    if len(frontier) > max_evaluations:
        raise ValueError(f'exhaustive search: budget {budget.kind}={budget.limit:g} admits '
                         f'{len(frontier)} allocations of space {space.name!r}, more than '
                         f'max_evaluations={max_evaluations}; raise it or use random_search / '
                         'evolution_search')
    return _run('exhaustive', space, budget, evaluate, [frontier], log, counter, progress)


def random_search(space, budget, evaluate: Callable, num_evaluations: int, *, seed: int = 0,
                  log=None, counter=None, progress: bool = False) -> SearchResult:
    """Evaluate ``num_evaluations`` distinct allocations drawn uniformly from the frontier.

    When the frontier is smaller, all of it is evaluated (with a warning).
    """
    space, budget, counter = resolve_budget(space, budget, counter)
    frontier = _capped_frontier(budget, num_evaluations, 'random_search')
    order = np.random.default_rng(seed).permutation(len(frontier))[:num_evaluations]
    return _run('random', space, budget, evaluate, [[frontier[i] for i in order]], log, counter,
                progress)


def evolution_search(space, budget, evaluate: Callable, num_evaluations: int, *,
                     population: int = 16, top_k: int = 8, mutation_prob: float = 0.1,
                     crossover_prob: float = 0.5, seed: int = 0, log=None, counter=None,
                     progress: bool = False) -> SearchResult:
    """Evolutionary search as in SPOS (Guo et al. 2020), constrained to the budget's frontier.

    Generation 0 is ``population`` random frontier allocations. Each later generation has
    ``population`` new allocations (fewer in the last, to stop at exactly ``num_evaluations``),
    each bred from the ``top_k`` best evaluated so far: with probability ``crossover_prob`` a
    uniform crossover of two of them (each stage's depth from either), else a mutation of one
    (each stage redrawn from ``1..max_depth`` with probability ``mutation_prob``, at least one
    stage). The offspring is moved onto the frontier with :meth:`Budget.repair` (random blocks
    dropped until it fits, then added until it cannot grow). Offspring already evaluated are
    redrawn; after ``50 × population`` failed draws the generation is filled with random
    unevaluated frontier allocations. ``step`` in the log is the generation.
    """
    if top_k < 1 or population < 1:
        raise ValueError(f'population={population} and top_k={top_k} must be >= 1')
    if not 0 <= mutation_prob <= 1 or not 0 <= crossover_prob <= 1:
        raise ValueError(f'mutation_prob={mutation_prob} and crossover_prob={crossover_prob} must '
                         'lie in [0, 1]')
    space, budget, counter = resolve_budget(space, budget, counter)
    frontier = _capped_frontier(budget, num_evaluations, 'evolution_search')
    num_evaluations = min(num_evaluations, len(frontier))
    rng = np.random.default_rng(seed)
    max_depths = np.asarray(space.max_depths)

    def breed(parents: list) -> tuple:
        if len(parents) > 1 and rng.random() < crossover_prob:
            i, j = rng.choice(len(parents), 2, replace=False)
            offspring = np.where(rng.random(space.num_stages) < 0.5, parents[i], parents[j])
        else:
            offspring = np.array(parents[rng.integers(len(parents))])
            mutate = rng.random(space.num_stages) < mutation_prob
            mutate[rng.integers(space.num_stages)] |= not mutate.any()
            offspring[mutate] = rng.integers(1, max_depths[mutate] + 1)
        return budget.repair(offspring, rng)

    def generations(history: list):
        """Yield each generation's allocations; ``history`` grows as they are evaluated."""
        first = rng.permutation(len(frontier))[:min(population, num_evaluations)]
        yield [frontier[i] for i in first]
        while len(history) < num_evaluations:
            ranked = sorted(history, key=lambda r: -r.score)  # stable: ties keep history order
            parents = [r.allocation for r in ranked[:top_k]]
            seen = {r.allocation for r in history}
            count = min(population, num_evaluations - len(history))
            new = []
            for _ in range(50 * population):
                if len(new) == count:
                    break
                offspring = breed(parents)
                if offspring not in seen and offspring not in new:
                    new.append(offspring)
            if len(new) < count:
                rest = [a for a in frontier if a not in seen and a not in new]
                new += [rest[i] for i in rng.permutation(len(rest))[:count - len(new)]]
            yield new

    return _run('evolution', space, budget, evaluate, generations, log, counter, progress)


def _capped_frontier(budget, num_evaluations: int, name: str) -> list:
    if num_evaluations < 1:
        raise ValueError(f'{name}: num_evaluations={num_evaluations} must be >= 1')
    frontier = budget.frontier()
    if num_evaluations > len(frontier):
        warnings.warn(f'{name}: the budget admits only {len(frontier)} allocations; evaluating '
                      f'all of them instead of num_evaluations={num_evaluations}')
    return frontier


def _run(method: str, space, budget, evaluate, batches, log, counter, progress) -> SearchResult:
    """Evaluate the batches of allocations in turn (``step`` = batch index). ``batches`` is a
    list, or a function of the growing history returning an iterable of batches."""
    cache = EvaluationCache(evaluate, log, counter, method, meta={'space': space.name})
    history, name = [], score_name(evaluate)
    with SearchProgress(f'{method} {space.name}, {budget.kind} <= {budget.limit:g}',
                        progress, score_name=name,
                        first_index=len(cache.log) if cache.log is not None else 0) as report:
        for step, batch in enumerate(batches(history) if callable(batches) else batches):
            report.new_step(step)
            history += cache.evaluate(batch, step, on_record=report)
    best = max(history, key=lambda r: r.score)  # ties: the earliest
    return SearchResult(method, space.name, budget.to_dict(), best, history,
                        num_evaluated=cache.num_evaluated, num_reused=cache.num_reused,
                        score_name=name)
