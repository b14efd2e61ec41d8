"""Evaluate each allocation at most once, across a run (memory) and across runs (the log).

Every search goes through :class:`EvaluationCache`. It takes any evaluator of
:mod:`search.protocol` and uses what it declares:

* any callable ``evaluate(allocation) -> float`` (higher is better);
* a :class:`~search.protocol.StepEvaluator`: the greedy search hands it a whole step through
  ``evaluate_step(parent, subnets)``, a generator yielding ``(subnet, score)`` for every subnet, in
  any order, each as soon as it is done, so it can share the work the subnets have in common
  (the stages before the one that grows: see :class:`search.evaluator.ClassificationEvaluator`).
  Each subnet must contain the parent (``subnet[i] >= parent[i]`` for every stage) and differ
  from it;
* a :class:`~search.protocol.BatchEvaluator`: ``evaluate_all(allocations)``, a generator like
  ``evaluate_step`` for any set of allocations (no parent): the baselines' batches go through
  it, so an exhaustive search shares every common prefix of blocks.

Each score is logged the moment it is yielded, so a search killed mid-step keeps what was done.

A :class:`~search.protocol.ProvenanceEvaluator` (e.g.
:class:`search.transfer_candidates.TransferringEvaluator`, which initializes some candidates by
weight transfer instead of taking them from the super-network) answers
``transferred(allocation) -> dict | None`` right after the score; the answer goes into the
record's ``transferred`` field.

    >>> cache = EvaluationCache(lambda a: -sum(a))
    >>> [r.score for r in cache.evaluate([(1, 2), (2, 1), (1, 2)])]
    [-3.0, -3.0, -3.0]
    >>> cache.num_evaluated, cache.num_reused
    (2, 1)
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import time
from typing import Callable, Iterable

from .log import Record, SearchLog
from .protocol import BatchEvaluator, ProvenanceEvaluator, StepEvaluator


class EvaluationCache:
    """Scores of allocations, evaluated on first request.

    Args:
        evaluate: the evaluator (see the module doc).
        log (SearchLog | str | Path | None): finished evaluations are read from and appended
            to it. A path opens a :class:`SearchLog` with ``meta``.
        counter (ComplexityCounter | None): fills ``flops`` and ``params`` of each record.
        method (str): written into each record (``'greedy'``, ``'random'``, ...).
        meta (dict | None): metadata of a log opened from a path (the searches pass the space's
            name, so a log of another space is refused).

    Attributes:
        num_evaluated: evaluations run by this object.
        num_reused: requests answered from memory or the log instead.
    """

    def __init__(self, evaluate: Callable, log=None, counter=None, method: str = '',
                 meta: dict | None = None):
        if not callable(evaluate):
            raise TypeError(f'evaluate must be callable (allocation -> float), got {evaluate!r}')
        self.evaluate_fn = evaluate
        if log is not None and not isinstance(log, SearchLog):
            log = SearchLog(log, meta)
        self.log = log
        self.counter = counter
        self.method = method
        self._records: dict = {}
        self.num_evaluated = 0
        self.num_reused = 0

    def get(self, allocation) -> Record | None:
        allocation = tuple(allocation)
        record = self._records.get(allocation)
        if record is None and self.log is not None:
            record = self.log.get(allocation)
        return record

    def evaluate(self, allocations: Iterable, step: int = 0, parent=None,
                 on_record: Callable | None = None) -> list:
        """Records of ``allocations`` (in order), evaluating those not seen before.

        With ``parent`` given and an evaluator that has ``evaluate_step``, the new ones are
        evaluated as subnets of ``parent`` in one call. ``on_record(record)`` is called after
        each new evaluation (e.g. to update a progress bar).
        """
        allocations = [tuple(a) for a in allocations]
        pending = []
        for a in allocations:
            if self.get(a) is not None or a in pending:
                self.num_reused += 1
            else:
                pending.append(a)
        if pending:
            evaluate = self.evaluate_fn
            if parent is not None and isinstance(evaluate, StepEvaluator):
                results = evaluate.evaluate_step(tuple(parent), list(pending))
            elif isinstance(evaluate, BatchEvaluator) and len(pending) > 1:
                results = evaluate.evaluate_all(list(pending))
            else:
                results = ((a, self.evaluate_fn(a)) for a in pending)
            left = set(pending)
            results = iter(results)
            try:
                start = time.perf_counter()
                for allocation, score in results:
                    allocation = tuple(allocation)
                    if allocation not in left:
                        raise RuntimeError(f'the evaluator returned allocation {allocation}, which '
                                           f'was not asked for or came twice')
                    left.discard(allocation)
                    now = time.perf_counter()
                    record = self._add(allocation, score, now - start, step)
                    start = now
                    if on_record is not None:
                        on_record(record)
            finally:  # a generator stopped early (error, Ctrl-C) restores its model now
                getattr(results, 'close', lambda: None)()
            if left:
                raise RuntimeError(f'the evaluator returned no score for {sorted(left)}')
        return [self.get(a) for a in allocations]

    def unscored(self, allocation) -> Record:
        """A record with counts but no score (e.g. the chain's unevaluated start)."""
        return self._record(tuple(allocation), None)

    def _record(self, allocation: tuple, score, seconds: float = 0.0, step: int = 0) -> Record:
        counter = self.counter
        return Record(allocation, score,
                      flops=counter.flops(allocation) if counter else None,
                      params=counter.params(allocation) if counter else None,
                      seconds=round(seconds, 6), step=step, method=self.method)

    def _add(self, allocation: tuple, score, seconds: float, step: int) -> Record:
        if hasattr(score, 'item'):  # a 0-d tensor or numpy scalar
            score = score.item()
        if isinstance(score, bool) or not isinstance(score, numbers.Real) or math.isnan(score):
            raise ValueError(f'evaluate({allocation}) returned {score!r}; expected a real number '
                             '(higher is better), not NaN')
        record = self._record(allocation, float(score), seconds, step)
        if isinstance(self.evaluate_fn, ProvenanceEvaluator):
            record = dataclasses.replace(record,
                                         transferred=self.evaluate_fn.transferred(allocation))
        self._records[allocation] = record
        if self.log is not None:
            self.log.append(record)
        self.num_evaluated += 1
        return record
