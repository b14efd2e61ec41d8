import numpy as np
import pytest
from PIL import Image

from archdata import (DIGITS_CLASSES, FASHION_MNIST_CLASSES, load_digits,
                               load_fashion_mnist, write_image_folder)


def test_fashion_mnist_reads_the_debian_files():
    images, labels = load_fashion_mnist('test')
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert sorted(np.bincount(labels)) == [1000] * 10
    assert images.max() == 255 and images.mean() > 40  # real pictures, not blank
    with pytest.raises(ValueError, match="allowed 'train', 'test'"):
        load_fashion_mnist('val')


def test_fashion_mnist_names_the_fix_when_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match='dataset-fashion-mnist'):
        load_fashion_mnist('train', root=tmp_path)


def test_digits_are_scaled_to_bytes():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.max() == 255
    assert set(labels) == set(range(10))


def test_write_image_folder_round_trips(tmp_path):
    images, labels = load_digits()
    root = write_image_folder(tmp_path / 'digits', images[:20], labels[:20], DIGITS_CLASSES,
                              size=16)
    files = sorted(root.glob('*/*.png'))
    assert len(files) == 20
    first = files[0]
    assert first.parent.name in DIGITS_CLASSES
    assert Image.open(first).size == (16, 16)
    index = int(first.stem)
    assert DIGITS_CLASSES[labels[index]] == first.parent.name
    assert len(FASHION_MNIST_CLASSES) == 10


def test_imagenet_subset_names_a_wrong_layout_or_a_missing_split(tmp_path):
    from archdata import ImageNetSubset
    with pytest.raises(ValueError, match="layout='tree', allowed 'auto', 'lists', 'folders'"):
        ImageNetSubset(data_root=str(tmp_path), split='train', layout='tree')
    with pytest.raises(FileNotFoundError, match=r"split='val'.*no meta/val.txt or val/<class>/"):
        ImageNetSubset(data_root=str(tmp_path), split='val')
