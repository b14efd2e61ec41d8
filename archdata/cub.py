"""CUB-200 targets: the 2010 release's own layout (mmpretrain reads only 2011's), and writers of
both layouts so tests and the demo exercise the same readers real users point at.

CUB-200-2011 (mmpretrain's ``CUB``)::

    CUB_200_2011/images/<class>/<image>.jpg, images.txt ("<id> <class>/<image>"),
    image_class_labels.txt ("<id> <label from 1>"), train_test_split.txt ("<id> <1 train|0 test>"),
    classes.txt ("<label> <class>")

CUB-200 (2010, :class:`CUB2010`)::

    CUB_200_2010/images/<NNN.class>/<image>.jpg, lists/train.txt and lists/test.txt
    ("<NNN.class>/<image>" per line), lists/classes.txt ("<NNN.class>" per line)
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from mmengine.fileio import join_path, list_from_file
from mmpretrain.datasets import CUB, BaseDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class CUB2010(BaseDataset):
    """The CUB-200 (2010) dataset: 200 bird species, 3,000 training and 3,033 test images.

    Labels come from the class folder's number (``001.Black_footed_Albatross`` → 0) and class
    names from ``lists/classes.txt``.

    Args:
        data_root (str): the folder holding ``images/`` and ``lists/``.
        split (str): ``'train'`` or ``'test'``.
    """

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"CUB2010: split={split!r}, allowed 'train', 'test'")
        self.split = split
        classes = [line.strip() for line in list_from_file(join_path(data_root, 'lists',
                                                                     'classes.txt'))]
        kwargs.setdefault('metainfo', dict(classes=tuple(c.split('.', 1)[-1] for c in classes)))
        super().__init__(ann_file=join_path('lists', f'{split}.txt'), data_root=data_root,
                         data_prefix='images', **kwargs)

    def load_data_list(self):
        data_list = []
        for line in list_from_file(self.ann_file):
            relative = line.strip()
            if not relative:
                continue
            number = relative.split('/', 1)[0].split('.', 1)[0]
            if not number.isdigit():
                raise ValueError(f'{self.ann_file}: {relative!r} does not start with a numbered '
                                 'class folder such as 001.Black_footed_Albatross/')
            data_list.append(dict(img_path=join_path(self.img_prefix, relative),
                                  gt_label=int(number) - 1))
        return data_list


@DATASETS.register_module()
class CUBPart(CUB):
    """One part of a CUB-200-2011 set whose ``parts.txt`` ("<image id> <part>") cuts it further
    than ``train_test_split.txt`` does (e.g. :func:`~archdata.prepare_tops_target`:
    train / search / rescore / test), so the split is on disk, not recomputed by the reader.

    Args:
        data_root (str): the CUB-200-2011 folder (``images.txt``, ..., ``parts.txt``).
        part (str): a part named in ``parts.txt``; its images must lie in one CUB split.
    """

    def __init__(self, data_root: str, part: str, **kwargs):
        parts = dict(line.split() for line in list_from_file(join_path(data_root, 'parts.txt'))
                     if line.strip())
        self.part_ids = {i for i, p in parts.items() if p == part}
        if not self.part_ids:
            raise ValueError(f'CUBPart: no image of part {part!r} in {data_root}/parts.txt '
                             f'(parts: {sorted(set(parts.values()))})')
        splits = dict(line.split() for line in
                      list_from_file(join_path(data_root, 'train_test_split.txt')) if line.strip())
        in_train = {splits[i] for i in self.part_ids}
        if len(in_train) != 1:
            raise ValueError(f'CUBPart: part {part!r} mixes CUB train and test images')
        self.part = part
        super().__init__(data_root=data_root, split='train' if in_train == {'1'} else 'test',
                         **kwargs)

    def load_data_list(self):
        images = self._load_data_from_txt(self.ann_file)  # images.txt, keyed by id - 1
        keep = {self.backend.join_path(self.img_prefix, images[int(i) - 1])
                for i in self.part_ids}
        return [info for info in super().load_data_list() if info['img_path'] in keep]


def _save(path: Path, image: np.ndarray, size: int | None):
    from PIL import Image
    picture = Image.fromarray(image).convert('RGB')
    if size is not None:
        picture = picture.resize((size, size), Image.BICUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, quality=95)


def write_cub2011(root, images: np.ndarray, labels: np.ndarray, is_train: np.ndarray,
                  classes: Sequence[str], size: int | None = None) -> Path:
    """Write images in the CUB-200-2011 layout (JPEG, ids and labels from 1)."""
    root = Path(root)
    folders = [f'{i + 1:03d}.{name}' for i, name in enumerate(classes)]
    rows = {'images.txt': [], 'image_class_labels.txt': [], 'train_test_split.txt': []}
    for index, (image, label, train) in enumerate(zip(images, labels, is_train)):
        relative = f'{folders[label]}/{folders[label].split(".", 1)[1]}_{index:05d}.jpg'
        _save(root / 'images' / relative, image, size)
        rows['images.txt'].append(f'{index + 1} {relative}')
        rows['image_class_labels.txt'].append(f'{index + 1} {label + 1}')
        rows['train_test_split.txt'].append(f'{index + 1} {int(bool(train))}')
    rows['classes.txt'] = [f'{i + 1} {folder}' for i, folder in enumerate(folders)]
    for name, lines in rows.items():
        (root / name).write_text('\n'.join(lines) + '\n')
    return root


def write_cub2010(root, images: np.ndarray, labels: np.ndarray, is_train: np.ndarray,
                  classes: Sequence[str], size: int | None = None) -> Path:
    """Write images in the CUB-200 (2010) layout."""
    root = Path(root)
    folders = [f'{i + 1:03d}.{name}' for i, name in enumerate(classes)]
    lists = {'train': [], 'test': []}
    for index, (image, label, train) in enumerate(zip(images, labels, is_train)):
        relative = f'{folders[label]}/{folders[label].split(".", 1)[1]}_{index:05d}.jpg'
        _save(root / 'images' / relative, image, size)
        lists['train' if train else 'test'].append(relative)
    (root / 'lists').mkdir(parents=True, exist_ok=True)
    for split, lines in lists.items():
        (root / 'lists' / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    (root / 'lists' / 'classes.txt').write_text('\n'.join(folders) + '\n')
    (root / 'lists' / 'files.txt').write_text('\n'.join(lists['train'] + lists['test']) + '\n')
    return root
