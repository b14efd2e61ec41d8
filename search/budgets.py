"""Budgets: what limits the size of a searched network, as a cost of the allocation.

Four kinds, all *affine* in the stage depths, ``cost(a) = offset + Σ_i slope_i · a_i``:

* ``'blocks'``: the block count ``Σ a_i`` (paper 004, Eq. 4; ResNet). The limit is the size ``C``.
* ``'reweighted'``: the FLOPs-re-weighted block count ``Σ_i w_i · a_i`` (paper Sec. 4, for
  MobileNetV2 and MnasNet, whose blocks differ in cost from stage to stage). The weight of
  searched stage ``i`` is ``w_i = F_i / mean_j F_j``, where ``F_i`` is mmengine's FLOPs of one
  non-first block of stage ``i`` (what adding a block there costs). So
  ``Σ w_i a_i = ns + (FLOPs(a) − FLOPs([1, …, 1])) / mean_j F_j``: ``[1, …, 1]`` counts ``ns``
  as with plain blocks, and an added block counts its FLOPs relative to the average stage. In
  ResNet spaces every ``w_i`` is ≈ 1 (a stage doubles the channels and halves the side), so the
  re-weighted count is ≈ the block count.
* ``'flops'`` and ``'params'``: the backbone's FLOPs or parameters from a
  :class:`~search.complexity.ComplexityCounter` (mmengine).

An allocation fits the budget when ``cost ≤ limit``. The searches look at the budget's
*frontier*: the allocations that fit and to which no stage can add a block without breaking the
budget or the space. For ``'blocks'`` that is exactly ``A_C = {a : Σ a_i = C}`` of the paper, and
it is where the greedy search ends.

    >>> budget = make_budget('resnet_basic', 'blocks', 6)
    >>> budget.cost((1, 2, 2, 1)), budget.fits((1, 2, 2, 1)), budget.admits((1, 2, 2, 1))
    (6.0, True, True)
    >>> budget.growable((1, 2, 1, 1))        # stages that can take one more block
    (0, 1, 2, 3)
    >>> len(budget.frontier())               # allocations of 6 blocks in (3, 4, 6, 3)
    10
    >>> make_budget('resnet_basic', 'blocks', 20)
    Traceback (most recent call last):
    ...
    ValueError: budget blocks=20 for space 'resnet_basic': allowed 4..16 (the cost of (1, 1, 1, 1) .. (3, 4, 6, 3))
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from supernet import SearchSpace, get_space

from .complexity import ComplexityCounter

BUDGET_KINDS = ('blocks', 'reweighted', 'flops', 'params')
MAX_ENUMERATED = 2_000_000  # allocations Budget.frontier() may enumerate


@dataclass(frozen=True)
class Budget:
    """``cost(a) = offset + Σ slopes[i] · a[i] ≤ limit`` over the allocations of ``space``.

    Build one with :func:`make_budget`, which derives ``offset`` and ``slopes`` from ``kind``.
    """
    kind: str
    limit: float
    space: SearchSpace
    slopes: tuple
    offset: float = 0.0
    counter: ComplexityCounter | None = dataclasses.field(default=None, compare=False, repr=False)

    def cost(self, allocation) -> float:
        a = self.space.validate(allocation)
        return float(self.offset + sum(s * d for s, d in zip(self.slopes, a)))

    @property
    def _tolerance(self) -> float:
        """Slack for float sums, e.g. a re-weighted limit taken from an allocation's cost."""
        return 1e-9 * max(1.0, abs(self.limit))

    def fits(self, allocation) -> bool:
        return self.cost(allocation) <= self.limit + self._tolerance

    def growable(self, allocation) -> tuple:
        """Stages ``k`` where adding one block stays within the space's depth and the budget."""
        a = self.space.validate(allocation)
        cost = self.cost(a)
        return tuple(k for k, (d, m, s) in enumerate(zip(a, self.space.max_depths, self.slopes))
                     if d < m and cost + s <= self.limit + self._tolerance)

    def admits(self, allocation) -> bool:
        """On the frontier: fits, and no stage can take another block."""
        return self.fits(allocation) and not self.growable(allocation)

    def frontier(self, max_allocations: int = MAX_ENUMERATED) -> list:
        """Every allocation on the frontier, in lexicographic order.

        Raises ValueError when the space has more than ``max_allocations`` allocations to scan.
        """
        space = self.space
        if space.num_allocations > max_allocations:
            raise ValueError(f'space {space.name!r} has {space.num_allocations} allocations; '
                             f'enumerating more than max_allocations={max_allocations} is refused')
        grid = np.indices(space.max_depths).reshape(space.num_stages, -1).T + 1  # (N, ns)
        slopes = np.asarray(self.slopes, np.float64)
        cost = self.offset + grid @ slopes
        limit = self.limit + self._tolerance
        can_grow = (grid < np.asarray(space.max_depths)) & (cost[:, None] + slopes <= limit)
        keep = (cost <= limit) & ~can_grow.any(axis=1)
        return [tuple(int(d) for d in row) for row in grid[keep]]

    def repair(self, allocation, rng: np.random.Generator) -> tuple:
        """Move ``allocation`` onto the frontier: drop blocks from random stages (depth > 1)
        until it fits, then add blocks to random growable stages until none is left."""
        a = list(self.space.validate(allocation))
        while not self.fits(a):
            a[rng.choice([k for k, d in enumerate(a) if d > 1])] -= 1
        while grow := self.growable(a):
            a[rng.choice(grow)] += 1
        return tuple(a)

    def extended(self, extra: int) -> 'Budget':
        """The same cost and limit over ``space.extended(extra)``: every stage may take ``extra``
        blocks past the super-network's depth (the cost stays affine there, see
        :mod:`search.complexity`)."""
        return dataclasses.replace(self, space=self.space.extended(extra))

    def to_dict(self) -> dict:
        data = {'kind': self.kind, 'limit': self.limit, 'space': self.space.name,
                'offset': self.offset, 'slopes': list(self.slopes)}
        if self.counter is not None:
            data['input_shape'] = list(self.counter.input_shape)
        return data


def reweighting(counter: ComplexityCounter) -> tuple:
    """FLOPs weight of each searched stage, ``w_i = F_i / mean_j F_j`` (see the module doc)."""
    slopes = np.asarray(counter.flop_slopes, np.float64)
    return tuple(float(w) for w in slopes / slopes.mean())


def make_budget(space, kind: str = 'blocks', limit=None,
                counter: ComplexityCounter | None = None) -> Budget:
    """A :class:`Budget` of ``kind`` with ``limit``.

    Args:
        space (str | SearchSpace): the search space.
        kind (str): one of ``BUDGET_KINDS``: 'blocks', 'reweighted', 'flops', 'params'.
        limit (number | Sequence[int]): the largest allowed cost, or an allocation whose cost is
            the limit (e.g. ``space.default_depths`` for "as large as the standard network").
            Must lie between the costs of ``[1, …, 1]`` and of the super-network.
        counter: counts FLOPs and parameters for 'reweighted', 'flops' and 'params'; built with
            its default input size when not given.

    Example:
        >>> budget = make_budget('mobilenet_v2', 'reweighted', (2, 3, 4, 3, 3))
        >>> [round(w, 2) for w in budget.slopes]
        [1.56, 0.66, 0.6, 1.3, 0.88]
        >>> budget.admits((2, 3, 4, 3, 3))
        True
    """
    space = get_space(space)
    if kind not in BUDGET_KINDS:
        raise ValueError(f'budget kind {kind!r}: allowed {", ".join(map(repr, BUDGET_KINDS))}')
    offset = 0.0
    if kind == 'blocks':
        slopes = (1.0,) * space.num_stages
    else:
        counter = counter or ComplexityCounter(space)
        if counter.space != space:
            raise ValueError(f'counter is for space {counter.space.name!r}, the budget for '
                             f'{space.name!r}')
        if kind == 'reweighted':
            slopes = reweighting(counter)
        else:
            offset, slopes = counter.affine(kind)
    budget = Budget(kind, float('nan'), space, tuple(slopes), float(offset),
                    counter if kind != 'blocks' else None)
    return dataclasses.replace(budget, limit=_check_limit(budget, limit))


def resolve_budget(space, budget, counter=None) -> tuple:
    """``(space, budget, counter)`` for a search: an int budget means ``'blocks'``; the counter
    defaults to the budget's, else a new one for the space; ``counter=False`` means none."""
    space = get_space(space)
    if not isinstance(budget, Budget):
        budget = make_budget(space, 'blocks', budget)
    if budget.space != space:
        raise ValueError(f'the budget is for space {budget.space.name!r}, the search for '
                         f'{space.name!r}')
    if counter is None:
        counter = budget.counter or ComplexityCounter(space)
    return space, budget, counter or None


def _check_limit(budget: Budget, limit) -> float:
    space, kind = budget.space, budget.kind
    if isinstance(limit, Sequence) and not isinstance(limit, str):
        return budget.cost(limit)
    if isinstance(limit, bool) or not isinstance(limit, numbers.Real) or limit != limit:
        raise ValueError(f'budget {kind}={limit!r}: the limit must be a number or an allocation '
                         f'of {space.num_stages} depths')
    low, high = budget.cost(space.min_depths), budget.cost(space.max_depths)
    if kind == 'blocks' and limit != int(limit):
        raise ValueError(f'budget blocks={limit!r}: a block count is an integer, allowed '
                         f'{_number(low)}..{_number(high)}')
    tolerance = 1e-9 * max(1.0, abs(high))
    if not low - tolerance <= limit <= high + tolerance:
        raise ValueError(f'budget {kind}={_number(limit)} for space {space.name!r}: allowed '
                         f'{_number(low)}..{_number(high)} (the cost of {space.min_depths} .. '
                         f'{space.max_depths})')
    return float(limit)


def _number(value: float) -> str:
    """Integers in full (FLOPs, parameters, blocks), other values to 6 digits."""
    return str(int(value)) if float(value).is_integer() else f'{value:.6g}'
