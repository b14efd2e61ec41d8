"""A validation split carved from a training set, for the search (the test set stays unseen)."""
from __future__ import annotations

import numpy as np
from mmpretrain.registry import DATASETS


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


@DATASETS.register_module(name='HeldOutSplit')
def held_out_split(dataset: dict, part: str, val_fraction: float = 0.1, seed: int = 0):
    """Build ``dataset`` (a training set) and keep its ``part`` ('train' or 'val') of a stratified
    split, e.g. to score search candidates on target data the fine-tuning never saw::

        val_dataloader = dict(dataset=dict(type='HeldOutSplit', part='val', val_fraction=0.1,
                                           dataset=dict(type='CUB', data_root=..., split='train')))
    """
    if part not in ('train', 'val'):
        raise ValueError(f"HeldOutSplit: part={part!r}, allowed 'train', 'val'")
    built = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
    built.full_init()
    labels = [built.get_data_info(i)['gt_label'] for i in range(len(built))]
    train, val = split_train_val(labels, val_fraction, seed)
    return built.get_subset((train if part == 'train' else val).tolist())
