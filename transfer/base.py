"""What every method gives the transfer engine: a plan (which source units feed which target
units) and a tensor adaptation (how one source tensor is made to fit one target tensor)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Plan:
    """Output of :meth:`Method.match`.

    Attributes:
        sources: target unit → ``[(source unit, weight), ...]``; weights sum to 1 (several only
            for TLI's top-K mix).
        reasons: target unit → ``(status, reason)`` for units left alone, status ``'untouched'``
            or ``'skipped'`` (see :mod:`transfer.report`).
        notes: method-level remarks copied into the report (e.g. the chain lengths).
    """
    sources: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


class Method:
    """Base of HMT, DPIAT and TLI. Subclasses take their options as keyword arguments."""
    name = ''

    def match(self, source, target) -> Plan:
        raise NotImplementedError

    def adapt(self, src: torch.Tensor, dst: torch.Tensor, kind: str) -> tuple:
        """``(new tensor shaped like dst, op name, fraction of dst covered)``."""
        raise NotImplementedError
