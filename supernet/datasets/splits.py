"""A validation split carved from a training set, for the search (the test set stays unseen)."""
from __future__ import annotations

import numpy as np
from mmpretrain.registry import DATASETS


def held_out_indices(labels, val_fraction: float, seed: int = 0) -> tuple:
    """Stratified, seeded split of ``range(len(labels))`` into (train indices, val indices).

    Every class gives ``ceil(val_fraction * n_c)`` of its samples (at least one, and at least
    one stays for training when the class has two or more).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction={val_fraction}: must lie strictly between 0 and 1')
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        take = int(np.ceil(val_fraction * len(members)))
        val.extend(members[:min(take, max(len(members) - 1, 1))])
    val = np.sort(np.array(val, dtype=int))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train.tolist(), val.tolist()


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
    train, val = held_out_indices(labels, val_fraction, seed)
    return built.get_subset(train if part == 'train' else val)
