"""Rank agreement between two scorings of the same candidates (e.g. super-network accuracy vs
stand-alone accuracy, or two search settings), and how many candidates the noise of a held-out
score cannot tell from the best.

    >>> kendall_tau([0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4])
    1.0
    >>> kendall_tau({(1, 2): 0.5, (2, 1): 0.7, (1, 1): 0.1}, {(2, 1): 3, (1, 2): 4})
    -1.0
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np


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


def crowd_at_the_top(per_image: np.ndarray, bootstrap: int = 1000, seed: int = 0) -> dict:
    """How many candidates lie within the sampling noise of the best one's held-out score.

    Args:
        per_image: ``(candidates, images)`` per-image scores (top-1 hits or log-likelihoods,
            :attr:`~search.ClassificationEvaluator.last_per_image`); a candidate's score is its
            row's mean.
        bootstrap: resamples of the images (the same resamples for every candidate).

    Returns:
        ``best`` (row index), ``se`` (bootstrap standard error of the best score), ``within``
        (other candidates scoring within one ``se`` of it: the count a selection cannot resolve),
        ``ties`` (exactly equal to it), and, paired, ``paired_within``: those trailing the best
        by less than the standard error of their *difference* to it (the scores share the
        images, so a difference varies less than two independent scores), with the median of
        those standard errors, ``median_paired_se``.
    """
    per_image = np.asarray(per_image, dtype=np.float64)
    scores = per_image.mean(1)
    best = int(np.argmax(scores))
    n = per_image.shape[1]
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(bootstrap)])
    resampled = counts @ per_image.T / n  # (bootstrap, candidates)
    se = float(np.std(resampled[:, best], ddof=1))
    gaps = scores[best] - scores
    paired_se = np.std(resampled[:, [best]] - resampled, axis=0, ddof=1)
    others = np.arange(len(scores)) != best
    return dict(best=best, se=se, within=int(np.sum(gaps[others] <= se)),
                ties=int(np.sum(gaps[others] == 0)),
                paired_within=int(np.sum(gaps[others] <= paired_se[others])),
                median_paired_se=float(np.median(paired_se[others])) if others.any() else 0.0)
