"""Small real image sets that need no download, and a writer for the ImageFolder layout.

* **Fashion-MNIST** (Xiao, Rasul, Vollgraf 2017; MIT licence): 70,000 28×28 grey images of 10
  clothing classes, from Debian's ``dataset-fashion-mnist`` package (``scripts/setup.sh`` installs
  it). The demo's *source* (the ImageNet role).
* **scikit-learn digits** (UCI optical digits; BSD-3 with scikit-learn): 1,797 8×8 handwritten
  digits inside the scikit-learn wheel. The demo's *target* (the CUB role): a different domain
  and label set.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Sequence

import numpy as np

FASHION_MNIST_DIR = Path(os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist'))
FASHION_MNIST_CLASSES = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt',
                         'sneaker', 'bag', 'ankle-boot')
DIGITS_CLASSES = tuple(f'digit-{i}' for i in range(10))


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


def prepare_demo_source(root: Path | str, train_per_class: int = 2000,
                        val_per_class: int = 200) -> Path:
    """Write the demo's source set in the ImageNet folder layout (``train/``, ``val/``).

    ``train/<class>/*.png`` comes from Fashion-MNIST's training split and ``val/`` from its test
    split, so the held-out top-1 is measured on images never trained on. Skips the work when
    ``root`` already holds the same selection.
    """
    root = Path(root)
    stamp = root / '.selection'
    selection = f'fashion-mnist train_per_class={train_per_class} val_per_class={val_per_class}'
    if stamp.exists() and stamp.read_text() == selection:
        return root
    for split, source_split, per_class in (('train', 'train', train_per_class),
                                           ('val', 'test', val_per_class)):
        images, labels = load_fashion_mnist(source_split)
        keep = _first_per_class(labels, per_class)
        write_image_folder(root / split, images[keep], labels[keep], FASHION_MNIST_CLASSES)
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
