"""A stratified, deterministic split of a labelled set (e.g. the search's held-out part of a
target's training images; the test set stays unseen)."""
from __future__ import annotations

import numpy as np


def split_train_val(labels, val_fraction: float = 0.1, seed: int = 0) -> tuple:
    """Indices ``(train, val)`` of a stratified, deterministic split of a training set.

    Each class gives ``round(val_fraction × its size)`` samples to ``val``, drawn with
    ``numpy.random.default_rng(seed)``; the same labels and seed always give the same split.

    >>> train, val = split_train_val([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], val_fraction=0.5)
    >>> val.tolist(), train.tolist()
    ([0, 2, 6, 7, 9], [1, 3, 4, 5, 8])
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction={val_fraction}: allowed 0 < val_fraction < 1')
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        val.extend(rng.permutation(members)[:int(round(len(members) * val_fraction))])
    val = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), val), val
