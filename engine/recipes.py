"""The super-network training recipes by name, which subnets a step trains, and their checks:
light to import (numpy only), for the report's settings and the tools' up-front checks; the
model that trains them is :class:`engine.sandwich.SupernetClassifier`.
"""
from __future__ import annotations

import numpy as np

from supernet.spaces import Allocation, SearchSpace

# today's recipe: one subnet drawn uniformly per step
UNIFORM = dict(largest=False, smallest=False, random=1)
INPLACE_DISTILL_DEFAULTS = dict(temperature=1.0, weight=1.0)
_SANDWICH = dict(largest=True, smallest=True, random=2)  # BigNAS's: n = 2 random subnets

# The named recipes: the model options each sets. The report and benchmarks take them by name;
# the configs that train with one (configs/supernet/*_sandwich.py, configs/demo/...) write the
# same values out, as configs cannot import (tests/test_sandwich.py keeps the two equal).
RECIPES = {
    'uniform': dict(train_subnets=UNIFORM),
    'sandwich': dict(train_subnets=_SANDWICH),
    'sandwich_distill': dict(train_subnets=_SANDWICH, inplace_distill=INPLACE_DISTILL_DEFAULTS),
}


def step_allocations(space: SearchSpace, seed: int, iteration: int, largest: bool = False,
                     smallest: bool = False, random: int = 1) -> list[Allocation]:
    """The subnets training iteration ``iteration`` trains, in order: the largest (with
    ``largest``), ``random`` drawn S_i ~ U[1, N_i] from a generator seeded by
    ``(seed, iteration)``, the smallest (with ``smallest``).

    The first random draw is the uniform recipe's only one, so ``random=1`` alone repeats it.
    """
    rng = np.random.default_rng([seed, iteration])
    drawn = [space.sample(rng) for _ in range(random)]
    return ([space.max_depths] if largest else []) + drawn + \
        ([space.min_depths] if smallest else [])


def check_train_subnets(train_subnets) -> dict:
    """``train_subnets`` with its defaults, or a one-line error naming what is wrong."""
    given = dict(train_subnets or {})
    unknown = sorted(set(given) - set(UNIFORM))
    if unknown:
        raise ValueError(f'model.train_subnets: unknown keys {unknown}; allowed '
                         f'{sorted(UNIFORM)}')
    plan = dict(UNIFORM, **given)
    if not isinstance(plan['random'], int) or plan['random'] < 0:
        raise ValueError(f'model.train_subnets.random={plan["random"]!r}: a count >= 0')
    if not (plan['largest'] or plan['smallest'] or plan['random']):
        raise ValueError('model.train_subnets: trains no subnet; set largest=True, '
                         'smallest=True or random >= 1')
    return plan


def check_inplace_distill(inplace_distill, plan: dict):
    """``inplace_distill`` with its defaults (``None``: off), or a one-line error."""
    if inplace_distill is None:
        return None
    given = dict(inplace_distill)
    unknown = sorted(set(given) - set(INPLACE_DISTILL_DEFAULTS))
    if unknown:
        raise ValueError(f'model.inplace_distill: unknown keys {unknown}; allowed '
                         f'{sorted(INPLACE_DISTILL_DEFAULTS)}')
    distill = dict(INPLACE_DISTILL_DEFAULTS, **given)
    if not distill['temperature'] > 0:
        raise ValueError(f'model.inplace_distill.temperature={distill["temperature"]!r}: '
                         'must be > 0')
    if not 0 <= distill['weight'] <= 1:
        raise ValueError(f'model.inplace_distill.weight={distill["weight"]!r}: between 0 and 1 '
                         '(the share of the soft-label loss; the rest is the label loss)')
    if not plan['largest']:
        raise ValueError('model.inplace_distill needs the largest subnet as the teacher: set '
                         'model.train_subnets.largest=True')
    return distill
