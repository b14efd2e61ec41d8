"""What a search returns, and its JSON file (the chain of best allocations and the chosen one)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from common.checkpoint import atomic_write_text

from .log import Record


@dataclass
class SearchResult:
    """The outcome of one search.

    Attributes:
        method: 'greedy', 'random', 'exhaustive' or 'evolution'.
        space: the search space's name.
        budget: ``Budget.to_dict()``.
        best: the chosen candidate. Greedy: the end of the chain (paper Alg. 1 returns
            ``φ_C``); baselines: the highest score (ties: the earliest in ``history``).
        history: every candidate the search asked for, in order, with its score (including those
            taken from the log).
        chain: greedy only: the best allocation of every size from ``ns`` upward, starting with
            ``[1, …, 1]`` (whose score is ``None`` unless the search evaluated it).
        num_evaluated: evaluations run in this call; ``num_reused``: answered from the log.
        ties: greedy only: ``{'step': s, 'allocations': [...]}`` for each step whose best score
            was shared (within the search's ``tie_tolerance``) by several candidates, in the order
            the search ranked them (a seeded permutation, not the stage index).
        settings: what else shaped the search and is not in ``budget`` (greedy: ``beam``,
            ``tie_tolerance``, ``seed``).
        score_name: what the scores are (:func:`search.protocol.score_name`), e.g.
            ``'held-out log-likelihood'``; ``'score'`` for an evaluator that does not say.
    """
    method: str
    space: str
    budget: dict
    best: Record
    history: list
    chain: list = field(default_factory=list)
    num_evaluated: int = 0
    num_reused: int = 0
    ties: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    score_name: str = 'score'

    def to_dict(self) -> dict:
        return {'method': self.method, 'space': self.space, 'budget': self.budget,
                'best': self.best.to_dict(), 'chain': [r.to_dict() for r in self.chain],
                'num_evaluated': self.num_evaluated, 'num_reused': self.num_reused,
                'settings': self.settings, 'score_name': self.score_name,
                'ties': [dict(t, allocations=[list(a) for a in t['allocations']])
                         for t in self.ties],
                'history': [r.to_dict() for r in self.history]}

    def format_chain(self) -> str:
        """The chain as ``'1-1-1-1 -> 2-1-1-1 -> …'``; candidates past the super-network's depth
        (initialized by weight transfer) are marked ``*`` and a second line says how.

            >>> start, grown = Record((3, 1), None), Record((4, 1), 0.5, transferred={
            ...     'method': 'dpiat', 'source': [3, 1], 'coverage': 1.0})
            >>> print(SearchResult('greedy', 'tiny', {}, grown, [grown], [start, grown])
            ...       .format_chain())
            3-1 -> 4-1*
            * past the super-network's depth: blocks initialized by transfer (dpiat)
        """
        text = ' -> '.join(r.label for r in self.chain)
        methods = sorted({r.transferred['method'] for r in self.chain if r.transferred})
        if methods:
            text += ("\n* past the super-network's depth: blocks initialized by transfer "
                     f'({", ".join(methods)})')
        return text

    def save(self, path) -> Path:
        """Write :meth:`to_dict` as JSON atomically (temporary file, fsync, then rename)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1))
