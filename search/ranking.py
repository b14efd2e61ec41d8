"""Rank agreement between two scorings of the same candidates (e.g. super-network accuracy vs
stand-alone accuracy, or two search settings).

    >>> kendall_tau([0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4])
    1.0
    >>> kendall_tau({(1, 2): 0.5, (2, 1): 0.7, (1, 1): 0.1}, {(2, 1): 3, (1, 2): 4})
    -1.0
"""
from __future__ import annotations

from collections.abc import Mapping


def kendall_tau(x, y) -> float:
    """Kendall's τ-b (scipy; ties handled) between two scorings.

    Args:
        x, y: score sequences for the same candidates in the same order, or two mappings
            candidate → score, compared on the candidates they share.

    Returns:
        τ in [-1, 1]; NaN when one scoring is constant (τ is undefined then).
    """
    from scipy.stats import kendalltau  # scipy.stats takes seconds to import: only when used
    if isinstance(x, Mapping) != isinstance(y, Mapping):
        raise TypeError('kendall_tau: pass two sequences or two mappings, not one of each')
    if isinstance(x, Mapping):
        common = [k for k in x if k in y]
        x, y = [x[k] for k in common], [y[k] for k in common]
    x, y = list(x), list(y)
    if len(x) != len(y):
        raise ValueError(f'kendall_tau: the scorings have {len(x)} and {len(y)} entries; they '
                         'must score the same candidates')
    if len(x) < 2:
        raise ValueError(f'kendall_tau: needs at least 2 common candidates, got {len(x)}')
    return float(kendalltau(x, y).statistic)
