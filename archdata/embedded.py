"""Small real image sets that need no download, and a writer for the ImageFolder layout.

* **Fashion-MNIST** (Xiao, Rasul, Vollgraf 2017; MIT licence): 70,000 28×28 grey images of 10
  clothing classes, from Debian's ``dataset-fashion-mnist`` package (``scripts/setup.sh`` installs
  it). The demo's *source* (the ImageNet role).
* **scikit-learn digits** (UCI optical digits; BSD-3 with scikit-learn): 1,797 8×8 handwritten
  digits inside the scikit-learn wheel. The demo's *target* (the CUB role): a different domain
  and label set.
* **Fashion-MNIST class split** (:func:`prepare_split_source`, :func:`prepare_tops_target`): the
  source keeps 5 classes (trousers, shoes, bag), the target is the 5 confusable *tops* (a
  fine-grained target with a label set disjoint from the source's, as CUB is to ImageNet) with 30
  labelled images per class and thousands of held-out ones, so that search scores and test
  accuracies have a small sampling error.
"""
from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path
from typing import Sequence

import numpy as np

FASHION_MNIST_DIR = Path(os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist'))
FASHION_MNIST_CLASSES = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt',
                         'sneaker', 'bag', 'ankle-boot')
DIGITS_CLASSES = tuple(f'digit-{i}' for i in range(10))
# The class split: the five upper-body garments, which Fashion-MNIST classifiers confuse among
# themselves (the fine-grained target), and the other five (the source).
TOPS_CLASSES = (0, 2, 3, 4, 6)        # t-shirt, pullover, dress, coat, shirt
SPLIT_SOURCE_CLASSES = (1, 5, 7, 8, 9)  # trouser, sandal, sneaker, bag, ankle-boot
# The target's parts, in ``parts.txt`` next to the CUB files: the search fine-tunes on 'train'
# and scores on 'search'; 'rescore' re-judges a search's pick on images that did not choose it;
# 'test' (CUB's test split) is for the final numbers only.
TARGET_PARTS = ('train', 'search', 'rescore', 'test')


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format): magic (dtype, ndim), big-endian dims, then the data."""
    with gzip.open(path, 'rb') as f:
        data = f.read()
    if data[:2] != b'\0\0' or data[2] != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file')
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(split: str = 'train', root: Path | str | None = None) -> tuple:
    """Fashion-MNIST ``split`` ('train': 60,000, 'test': 10,000) as (uint8 N×28×28, int64 N)."""
    images, labels = _load_fashion_mnist(split, root)
    return images, labels.copy()  # the images are read-only (frombuffer), so shared as they are


@functools.lru_cache(maxsize=4)  # the writers read a split more than once
def _load_fashion_mnist(split: str, root: Path | str | None) -> tuple:
    if split not in ('train', 'test'):
        raise ValueError(f"split={split!r}: allowed 'train', 'test'")
    root = Path(root or FASHION_MNIST_DIR)
    prefix = 'train' if split == 'train' else 't10k'
    images_path = root / f'{prefix}-images-idx3-ubyte.gz'
    if not images_path.exists():
        raise FileNotFoundError(
            f'{images_path} not found. Fashion-MNIST comes from Debian\'s dataset-fashion-mnist '
            'package: run `bash scripts/setup.sh` (or `apt-get install dataset-fashion-mnist`), '
            'or point FASHION_MNIST_DIR at a folder with the four *-ubyte.gz files.')
    images = _read_idx(images_path)
    labels = _read_idx(root / f'{prefix}-labels-idx1-ubyte.gz').astype(np.int64)
    return images, labels


def load_digits() -> tuple:
    """scikit-learn's 1,797 digits as (uint8 N×8×8 in 0..255, int64 N)."""
    from sklearn.datasets import load_digits as sklearn_digits
    digits = sklearn_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)  # pixel values are 0..16
    return images, digits.target.astype(np.int64)


def write_image_folder(root: Path | str, images: np.ndarray, labels: np.ndarray,
                       classes: Sequence[str], size: int | None = None,
                       suffix: str = '.png') -> Path:
    """Write ``root/<class>/<index>.png`` (torchvision ImageFolder / mmpretrain CustomDataset).

    Args:
        images: uint8 N×H×W (grey) or N×H×W×3.
        size: resize to ``size``×``size`` (bicubic) when given.
    Returns:
        ``root``
    """
    from PIL import Image
    root = Path(root)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
    width = len(str(len(images)))
    for index, (image, label) in enumerate(zip(images, labels)):
        picture = Image.fromarray(image)
        if size is not None and picture.size != (size, size):
            picture = picture.resize((size, size), Image.BICUBIC)
        picture.save(root / classes[label] / f'{index:0{width}d}{suffix}')
    return root


def _first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` samples of every class, in dataset order."""
    picked = [np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(picked))


def relabelled(labels: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """``labels`` as positions in ``classes`` (-1 for the classes left out)."""
    lookup = np.full(int(labels.max()) + 1, -1, np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    return lookup[labels]


def prepare_demo_source(root: Path | str, train_per_class: int = 2000,
                        val_per_class: int = 200, classes: Sequence[int] | None = None) -> Path:
    """Write the demo's source set in the ImageNet folder layout (``train/``, ``val/``).

    ``train/<class>/*.png`` comes from Fashion-MNIST's training split and ``val/`` from its test
    split, so the held-out top-1 is measured on images never trained on. ``classes`` (indices
    into :data:`FASHION_MNIST_CLASSES`) keeps only those classes (the class-split source). Skips
    the work when ``root`` already holds the same selection.
    """
    root = Path(root)
    stamp = root / '.selection'
    selection = f'fashion-mnist train_per_class={train_per_class} val_per_class={val_per_class}'
    if classes is not None:
        selection += f' classes={",".join(map(str, classes))}'
    if stamp.exists() and stamp.read_text() == selection:
        return root
    for split, source_split, per_class in (('train', 'train', train_per_class),
                                           ('val', 'test', val_per_class)):
        images, labels = load_fashion_mnist(source_split)
        keep = _first_per_class(labels, per_class)
        names = FASHION_MNIST_CLASSES
        if classes is not None:
            keep = keep[np.isin(labels[keep], classes)]
            names = [FASHION_MNIST_CLASSES[c] for c in classes]
            labels = relabelled(labels, classes)
        write_image_folder(root / split, images[keep], labels[keep], names)
    stamp.write_text(selection)
    return root


def prepare_demo_target(root: Path | str, test_fraction: float = 0.3, size: int = 28) -> Path:
    """Write the demo's target set, scikit-learn's digits, in the CUB-200-2011 layout.

    A stratified ``test_fraction`` of every class is marked as test (``train_test_split.txt``);
    images are upsampled from 8×8 to ``size`` px to match the source's resolution.
    """
    from common.splits import split_train_val

    from .cub import write_cub2011
    root = Path(root)
    stamp = root / '.selection'
    selection = f'sklearn-digits test_fraction={test_fraction} size={size}'
    if stamp.exists() and stamp.read_text() == selection:
        return root
    images, labels = load_digits()
    _, test = split_train_val(labels, test_fraction, seed=0)
    is_train = np.ones(len(labels), bool)
    is_train[test] = False
    write_cub2011(root, images, labels, is_train, DIGITS_CLASSES, size=size)
    stamp.write_text(selection)
    return root


def prepare_split_source(root: Path | str, train_per_class: int = 4000,
                         val_per_class: int = 400) -> Path:
    """The class-split source: :func:`prepare_demo_source` on :data:`SPLIT_SOURCE_CLASSES`, with
    twice the images per class so that it holds as many images (20,000) as the demo's source."""
    return prepare_demo_source(root, train_per_class, val_per_class, SPLIT_SOURCE_CLASSES)


def tops_selection(counts: dict, seed: int = 0) -> dict:
    """Which Fashion-MNIST images each part of the tops target takes: ``{source split: [(part,
    indices into that split), ...]}``, per class in turn, the parts of one class disjoint (one
    seeded permutation per class, cut in order). ``counts``: images per class of each part of
    :data:`TARGET_PARTS`; 'test' comes from Fashion-MNIST's test split, the others from its
    training split."""
    rng = np.random.default_rng(seed)
    selection = {}
    for source_split in ('train', 'test'):
        names = [p for p in TARGET_PARTS if (p == 'test') == (source_split == 'test')]
        labels = relabelled(load_fashion_mnist(source_split)[1], TOPS_CLASSES)
        selection[source_split] = []
        for c in range(len(TOPS_CLASSES)):
            members = rng.permutation(np.flatnonzero(labels == c))
            start = 0
            for name in names:
                if start + counts[name] > len(members):
                    raise ValueError(f'{name}: {counts[name]} per class, but class {c} has only '
                                     f'{len(members) - start} images left in Fashion-MNIST '
                                     f'{source_split}')
                selection[source_split].append((name,
                                                np.sort(members[start:start + counts[name]])))
                start += counts[name]
    return selection


def prepare_tops_target(root: Path | str, train_per_class: int = 30, search_per_class: int = 400,
                        rescore_per_class: int = 400, test_per_class: int = 400,
                        size: int = 28, seed: int = 0) -> Path:
    """Write the class-split target, Fashion-MNIST's five tops, in the CUB-200-2011 layout.

    Per class, ``train_per_class`` labelled images (CUB has ~30) and two held-out parts are drawn
    without overlap from Fashion-MNIST's training split (``numpy.random.default_rng(seed)``), and
    ``test_per_class`` from its test split. CUB's ``train_test_split.txt`` marks 'test' as test
    and the other three as train; ``parts.txt`` ("<image id> <part>", :data:`TARGET_PARTS`)
    tells the three apart (read by :class:`~archdata.cub.CUBPart`). Skips the work when
    ``root`` already holds the same selection.
    """
    from .cub import write_cub2011
    root = Path(root)
    stamp = root / '.selection'
    counts = dict(train=train_per_class, search=search_per_class, rescore=rescore_per_class,
                  test=test_per_class)
    selection = (f'fashion-mnist tops classes={",".join(map(str, TOPS_CLASSES))} '
                 + ' '.join(f'{k}={v}' for k, v in counts.items()) + f' size={size} seed={seed}')
    if stamp.exists() and stamp.read_text() == selection:
        return root
    chosen, parts = [], []  # (images, labels) in writing order, and their part names
    for source_split, picked in tops_selection(counts, seed).items():
        images, labels = load_fashion_mnist(source_split)
        for name, indices in picked:
            chosen.append((images[indices], relabelled(labels, TOPS_CLASSES)[indices]))
            parts += [name] * len(indices)
    images = np.concatenate([i for i, _ in chosen])
    labels = np.concatenate([lab for _, lab in chosen])
    is_train = np.array([p != 'test' for p in parts])
    if stamp.exists():  # our folder with another selection: do not mix its files with these
        import shutil
        shutil.rmtree(root)
    write_cub2011(root, images, labels, is_train,
                  [FASHION_MNIST_CLASSES[c] for c in TOPS_CLASSES], size=size)
    (root / 'parts.txt').write_text(''.join(f'{i + 1} {p}\n' for i, p in enumerate(parts)))
    stamp.write_text(selection)
    return root
