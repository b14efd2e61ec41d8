"""Greedy block search (paper 004, Sec. 3.3, Alg. 1), optionally as a beam search.

Start from ``[1, …, 1]``; at every step evaluate the subnets that add one block to one stage and
keep the best, until no subnet fits the budget. The result holds the best allocation of every size
on the way (the paper's "optimal architectures for models whose sizes range from ns to C").

* ``beam=k`` keeps the ``k`` best allocations of each size and grows each of them; the step's
  candidates are the union of their subnets, each evaluated once (a candidate that extends two
  kept parents goes to the first one only). ``beam=1`` is Alg. 1 exactly.
* A subnet is skipped, not evaluated, when its stage is at the super-network's depth or when it
  would exceed the budget. With ``beyond_max=N`` a stage may grow up to ``N`` blocks past that
  depth instead; such candidates go to ``evaluate`` like any other, which must be able to score
  them (:class:`search.transfer_candidates.TransferringEvaluator` initializes their extra blocks
  by weight transfer).
* Ties are not settled by stage index, which would turn noise into a bias towards the first
  stages (docs/search.md, "Ties"). Candidates whose score is within ``tie_tolerance`` of the
  step's best (default 0: exact ties only; set it to the score's standard error to count
  near-ties) are *tied*: they are ordered by a permutation drawn from
  ``numpy.random.default_rng(seed)`` (deterministic for a seed, with no preference for any
  stage), come before all others, and are listed in ``result.ties``. With ``beam >= 2`` as many
  of them as the beam holds are carried on. Equal scores below the tied group are ordered by the
  same permutation.

Number of evaluations, for a block budget ``C`` (``[1, …, 1]`` is evaluated only with
``evaluate_start=True``, one more): with ``beam=1``, ``Σ_steps |growable(parent)|``, i.e.
``(C − ns)·ns`` minus the skipped subnets. With ``beam=k`` a step evaluates the union of the
subnets of its ``≤ k`` parents: at most ``k·ns`` (``ns`` at step 1), fewer for skipped subnets
and for subnets shared by two parents (two allocations of one size share a subnet exactly when
they differ by one block moved between two stages, as the two kept after step 1 always do).

    >>> target = (1, 3, 2, 2)
    >>> def evaluate(allocation):   # closest to ``target`` is best
    ...     return -sum((a - t) ** 2 for a, t in zip(allocation, target))
    >>> result = greedy_search('resnet_basic', 8, evaluate, counter=False)
    >>> ' -> '.join(r.label for r in result.chain)
    '1-1-1-1 -> 1-2-1-1 -> 1-2-1-2 -> 1-2-2-2 -> 1-3-2-2'
    >>> result.best.allocation, result.num_evaluated
    ((1, 3, 2, 2), 16)
    >>> result.ties[0]   # from 1-2-1-1, one more block in stage 1, 2 or 3 scores the same
    {'step': 2, 'allocations': [(1, 2, 1, 2), (1, 2, 2, 1), (1, 3, 1, 1)]}
    >>> wide = greedy_search('resnet_basic', 8, evaluate, counter=False, beam=2)
    >>> wide.best.allocation, wide.num_evaluated      # 4 + 7 + 7 + 7 (shared subnets)
    ((1, 3, 2, 2), 25)
"""
from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np

from .budgets import resolve_budget
from .cache import EvaluationCache
from .progress import SearchProgress
from .protocol import score_name
from .result import SearchResult


def greedy_search(space, budget, evaluate: Callable, *, log=None, counter=None,
                  evaluate_start: bool = False, progress: bool = False,
                  beyond_max: int = 0, beam: int = 1, tie_tolerance: float = 0.0,
                  seed: int = 0) -> SearchResult:
    """Run Alg. 1 (as a beam search for ``beam > 1``) and return the chain of best allocations.

    Args:
        space (str | SearchSpace): the super-network's search space.
        budget (Budget | int): a :class:`~search.budgets.Budget`, or an int ``C`` for the block
            budget ``make_budget(space, 'blocks', C)``.
        evaluate: ``evaluate(allocation) -> float``, higher is better; optionally with
            ``evaluate_step(parent, subnets)`` to evaluate a parent's subnets together (see
            :mod:`search.cache`).
        log (SearchLog | path | None): JSONL log; finished evaluations in it are not repeated.
            Each settled step adds a "pick" line (:mod:`search.log`).
        counter (ComplexityCounter | None | False): fills FLOPs and parameters of each record.
            Default: the budget's counter, else a new one for ``space``; ``False``: no counts.
        evaluate_start: also evaluate ``[1, …, 1]`` (step 0), so the chain's first entry has
            a score.
        progress: show a tqdm bar over evaluated candidates (step, candidate, best so far).
            Inside an mmengine run, each step's outcome is also a line of its log and the
            scores go to its visualizer, bar or not (:mod:`search.progress`).
        beyond_max: how many blocks a stage may grow past its maximum depth in ``space``
            (default 0: never). The budget applies as usual; FLOPs and parameters of such
            candidates are those of the subnet of that depth.
        beam: how many allocations of each size are kept and grown (1: Alg. 1).
        tie_tolerance: scores within this (absolute) distance of a step's best are ties.
        seed: seeds the order of tied candidates.

    Returns:
        :class:`~search.result.SearchResult` with ``chain`` (the best allocation of each size,
        the first one ``[1, …, 1]``; of tied candidates, the one the permutation put first; with
        ``beam > 1`` an entry need not extend the one before), ``best`` = its last
        entry, ``history`` (every candidate, in evaluation order), ``ties`` and ``settings``
        (beam, tie_tolerance, seed).
    """
    space, budget, counter = resolve_budget(space, budget, counter)
    _check_int('beyond_max', beyond_max, 0, 'blocks a stage may grow past its maximum depth; '
               '0 = stay in the space')
    _check_int('beam', beam, 1, 'allocations kept per size; 1 = Alg. 1')
    if (isinstance(tie_tolerance, bool) or not isinstance(tie_tolerance, numbers.Real)
            or math.isnan(tie_tolerance) or tie_tolerance < 0):
        raise ValueError(f'tie_tolerance={tie_tolerance!r}: allowed a real number >= 0 (scores '
                         "this close to a step's best are ties; 0 = exact ties only)")
    rng = np.random.default_rng(seed)
    budget = budget.extended(beyond_max)  # its growable() now allows the extra depth
    # The log's meta holds only what scores depend on. beam, tie_tolerance and seed change which
    # allocations are asked for, never a score (a function of the allocation alone), so one log
    # can be shared and resumed by searches with any beam; the result's `settings` says which
    # search it was, and its `num_reused` how much came from the log.
    cache = EvaluationCache(evaluate, log, counter, 'greedy', meta={'space': space.name})
    name = score_name(evaluate)
    desc = f'greedy {budget.space.name}, {budget.kind} <= {budget.limit:g}'
    steps = f'/{int(budget.limit) - space.num_stages}' if budget.kind == 'blocks' else ''
    with SearchProgress(desc, progress, score_name=name,
                        first_index=len(cache.log) if cache.log is not None else 0) as report:
        start = space.min_depths
        if evaluate_start:
            start = cache.evaluate([start], step=0, on_record=report)[0]
            _settle(cache, report, name, 0, [start], [start])
        else:
            start = cache.unscored(start)
        chain, history, ties, parents = [start], [start] if evaluate_start else [], [], [start]
        step = 0
        while groups := _subnets(budget, parents):
            step += 1
            n = len(groups)
            grown = f', {n} parent{"s" * (n > 1)}' if beam > 1 else ''
            report.new_step(step, f'{steps} (from {sum(parents[0].allocation)} blocks{grown})')
            records = []
            for parent, subnets in groups:  # one call per parent: prefix sharing in evaluate_step
                records += cache.evaluate(subnets, step, parent=parent, on_record=report)
            history += records
            ranked, tied = _rank(records, tie_tolerance, rng)
            if len(tied) > 1:
                ties.append({'step': step, 'allocations': [r.allocation for r in tied]})
            _settle(cache, report, name, step, ranked, tied)
            chain.append(ranked[0])
            parents = ranked[:beam]
    settings = {'beam': int(beam), 'tie_tolerance': float(tie_tolerance), 'seed': seed}
    return SearchResult('greedy', space.name, budget.to_dict(), chain[-1], history, chain,
                        cache.num_evaluated, cache.num_reused, ties=ties, settings=settings,
                        score_name=name)


def _settle(cache, report, name: str, step: int, ranked: list, tied: list):
    """A step's outcome, ``ranked[0]`` taken: a "pick" line in the search log, a line in the
    run's log and the chain's scalar (:class:`~search.progress.SearchProgress`)."""
    taken = ranked[0]
    if cache.log is not None:
        cache.log.append_pick({'step': step, 'allocation': list(taken.allocation),
                               'blocks': sum(taken.allocation), 'score': taken.score,
                               'score_name': name, 'candidates': len(ranked)})
    report.picked(step, ranked, tied)


def _subnets(budget, parents) -> list:
    """``[(parent, subnets)]``: each parent's subnets in stage order, without those an earlier
    parent already has, so no allocation is asked for twice; parents left with none are left out.
    """
    seen, groups = set(), []
    for parent in parents:
        a = parent.allocation
        subnets = [tuple(d + (i == k) for i, d in enumerate(a)) for k in budget.growable(a)]
        subnets = [c for c in subnets if c not in seen]
        seen.update(subnets)
        if subnets:
            groups.append((a, subnets))
    return groups


def _rank(records, tolerance: float, rng: np.random.Generator) -> tuple:
    """``(ranked, tied)``: ``records`` best first, and those within ``tolerance`` of the best.

    The tied ones come first in the order of a random permutation, the others by score; the
    permutation also orders equal scores among those (a stable sort would favour early stages).
    """
    order = rng.permutation(len(records))
    best = max(r.score for r in records)
    is_tied = [r.score >= best - tolerance for r in records]
    keys = [(0, int(o)) if t else (1, -r.score, int(o))
            for r, t, o in zip(records, is_tied, order)]
    ranked = [records[i] for i in sorted(range(len(records)), key=keys.__getitem__)]
    return ranked, ranked[:sum(is_tied)]


def _check_int(name: str, value, low: int, meaning: str):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f'{name}={value!r}: allowed an integer >= {low} ({meaning})')
