"""``HeldOutSplit``: a dataset config's training set cut by :func:`common.splits.split_train_val`
(the search scores candidates on a part the fine-tuning never saw; the test set stays unseen)."""
from __future__ import annotations

from mmengine.dataset import BaseDataset
from mmpretrain.registry import DATASETS

from common.splits import split_train_val


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
    # mmengine's BaseDataset._copy_without_annotation(memo=dict()) keeps one deepcopy memo for
    # the whole process (a mutable default): an object whose id was freed and reused is given an
    # earlier subset's copy ("'CUB' object is not callable" in a worker, now and then). Each
    # subset starts from an empty memo.
    BaseDataset._copy_without_annotation.__defaults__[0].clear()
    return built.get_subset((train if part == 'train' else val).tolist())
