"""Every setting of a search run, in one place: the config's ``search_cfg``, parsed once.

Like mmrazor's search loops, the config says everything a run needs; the command line only
writes into it (``tools/greedy_search.py --budget 16`` is ``search_cfg.budget.limit=16``)::

    search_cfg = dict(
        finetune_epochs=8,                         # super-network fine-tuning on the target first
        budget=dict(kind='blocks', limit=16),      # kinds: search.budgets.BUDGET_KINDS
        beam=1,                                    # 1: Alg. 1; k: keep the k best of every size
        tie_tolerance=0.0,                         # scores this close to a step's best are ties
        input_shape=None,                          # (C, H, W) of the FLOPs in the log; default:
                                                   #   the val pipeline's Resize, else the space's
        beyond_max=0,                              # > 0: stages may grow past the super-network,
        transfer_method='dpiat',                   #   the extra blocks made by this method
        evaluator=dict(type='classification', num_recal_batches=20, metric='accuracy'))

:meth:`SearchSettings.from_cfg` refuses unknown keys and bad values with one line that names the
key, the value and what is allowed, before any model is built. This module imports no engine.

    >>> SearchSettings.from_cfg(dict(budget=dict(limit=16))).budget
    {'kind': 'blocks', 'limit': 16}
    >>> SearchSettings.from_cfg(dict(finetune_epoch=0))
    Traceback (most recent call last):
    ...
    ValueError: search_cfg.finetune_epoch: unknown key; allowed: beam, beyond_max, budget, evaluator, finetune_epochs, input_shape, tie_tolerance, transfer_method
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Mapping

from transfer import METHODS

from .budgets import BUDGET_KINDS


@dataclass(frozen=True)
class SearchSettings:
    """The parsed ``search_cfg`` (see the module doc)."""
    finetune_epochs: int = 0
    budget: dict = field(default_factory=lambda: dict(kind='blocks', limit=None))
    beam: int = 1
    tie_tolerance: float = 0.0
    input_shape: tuple | None = None
    beyond_max: int = 0
    transfer_method: str = 'dpiat'
    evaluator: dict = field(default_factory=lambda: dict(type='classification'))

    @classmethod
    def from_cfg(cls, search_cfg: Mapping | None) -> 'SearchSettings':
        if search_cfg is None:
            raise ValueError('the config has no search_cfg (e.g. search_cfg = dict(budget=dict('
                             "kind='blocks', limit=16), evaluator=dict(type='classification')))")
        search_cfg = dict(search_cfg)
        allowed = sorted(f.name for f in dataclasses.fields(cls))
        for key in search_cfg:
            if key not in allowed:
                raise ValueError(f'search_cfg.{key}: unknown key; allowed: {", ".join(allowed)}')
        default = cls()
        budget = dict(default.budget, **_mapping(search_cfg.get('budget', {}), 'budget'))
        evaluator = dict(_mapping(search_cfg.get('evaluator', default.evaluator), 'evaluator'))
        evaluator.setdefault('type', 'classification')
        settings = cls(
            finetune_epochs=_integer(search_cfg, 'finetune_epochs', default.finetune_epochs, 0),
            budget=budget,
            beam=_integer(search_cfg, 'beam', default.beam, 1),
            tie_tolerance=_real(search_cfg, 'tie_tolerance', default.tie_tolerance),
            input_shape=_shape(search_cfg.get('input_shape')),
            beyond_max=_integer(search_cfg, 'beyond_max', default.beyond_max, 0),
            transfer_method=search_cfg.get('transfer_method', default.transfer_method),
            evaluator=evaluator)
        settings._check()
        return settings

    def _check(self):
        unknown = sorted(set(self.budget) - {'kind', 'limit'})
        if unknown:
            raise ValueError(f'search_cfg.budget.{unknown[0]}: unknown key; allowed: kind, limit')
        if self.budget['kind'] not in BUDGET_KINDS:
            raise ValueError(f'search_cfg.budget.kind={self.budget["kind"]!r}: allowed '
                             f'{", ".join(map(repr, BUDGET_KINDS))}')
        limit = self.budget['limit']
        if limit is not None and (isinstance(limit, bool)
                                  or not isinstance(limit, (numbers.Real, list, tuple))):
            raise ValueError(f'search_cfg.budget.limit={limit!r}: allowed a number or an '
                             'allocation whose cost is the limit')
        if self.transfer_method not in METHODS:
            raise ValueError(f'search_cfg.transfer_method={self.transfer_method!r}: allowed '
                             f'{", ".join(map(repr, METHODS))}')
        if not isinstance(self.evaluator['type'], str):
            raise ValueError(f'search_cfg.evaluator.type={self.evaluator["type"]!r}: allowed a '
                             'registered evaluator name, e.g. classification, detection')

    def require_budget(self):
        """The search itself needs a limit (fine-tuning alone does not)."""
        if self.budget['limit'] is None:
            raise ValueError('search_cfg.budget.limit is not set: give the largest allowed '
                             f'{self.budget["kind"]} (e.g. --budget 16)')

    @property
    def evaluator_options(self) -> dict:
        """``evaluator`` without its ``type``: the builder's keyword arguments."""
        return {k: v for k, v in self.evaluator.items() if k != 'type'}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _mapping(value, key: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise ValueError(f'search_cfg.{key}={value!r}: allowed a dict')
    return value


def _real(cfg: dict, key: str, default: float) -> float:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f'search_cfg.{key}={value!r}: allowed a real number >= 0')
    return float(value)


def _shape(value) -> tuple | None:
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(d, numbers.Integral) and d > 0 for d in value)):
        raise ValueError(f'search_cfg.input_shape={value!r}: allowed None or (C, H, W), '
                         'e.g. (3, 800, 1333)')
    return tuple(int(d) for d in value)


def _integer(cfg: dict, key: str, default: int, minimum: int) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f'search_cfg.{key}={value!r}: allowed an integer >= {minimum}')
    return int(value)
