"""``ImageNetSubset``: ImageNet, or any subset of its classes, in either of mmpretrain's layouts.

mmpretrain's ``ImageNet`` reads ``meta/<split>.txt`` when it exists and class folders otherwise,
but with class folders it asserts all 1,000 of them, so a subset only worked in the list layout.
"""
from __future__ import annotations

from mmengine.fileio import exists, isdir, join_path
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS

LAYOUTS = ('auto', 'lists', 'folders')


@DATASETS.register_module()
class ImageNetSubset(CustomDataset):
    """Images of any number of classes in one of ImageNet's layouts under ``data_root``::

        lists:   meta/<split>.txt ("<path under split/> <label>" per line), images under <split>/
        folders: <split>/<class>/*.JPEG, labels in sorted folder order, class names the folders

    Args:
        data_root (str): the folder holding ``train/``, ``val/`` (and ``meta/``).
        split (str): the image folder, e.g. ``'train'`` or ``'val'``.
        layout (str): ``'lists'``, ``'folders'``, or ``'auto'``: the lists if
            ``meta/<split>.txt`` exists, else the folders (as mmpretrain's ``ImageNet`` picks).
        **kwargs: as ``CustomDataset`` (``pipeline``, ``metainfo``, ...).
    """

    def __init__(self, data_root: str, split: str, layout: str = 'auto', **kwargs):
        if layout not in LAYOUTS:
            raise ValueError(f"ImageNetSubset: layout={layout!r}, allowed 'auto', 'lists', "
                             "'folders'")
        ann_file = join_path('meta', f'{split}.txt')
        chosen = layout
        if layout == 'auto':
            chosen = 'lists' if exists(join_path(data_root, ann_file)) else 'folders'
        if chosen == 'folders' and not isdir(join_path(data_root, split)):
            wanted = f'{ann_file} or {split}/<class>/' if layout == 'auto' else f'{split}/<class>/'
            raise FileNotFoundError(f'ImageNetSubset: data_root={data_root!r}, split={split!r}, '
                                    f'layout={layout!r}: no {wanted} there')
        self.layout = chosen
        super().__init__(data_root=data_root, data_prefix=split,
                         ann_file=ann_file if chosen == 'lists' else '', **kwargs)
