"""The class-split demo data (a target with headroom to tell allocations apart): the tops
target's on-disk parts and the source without the tops."""
import numpy as np
import pytest

from archdata import (
    FASHION_MNIST_CLASSES,
    SPLIT_SOURCE_CLASSES,
    TARGET_PARTS,
    TOPS_CLASSES,
    CUBPart,
    prepare_demo_source,
    prepare_tops_target,
)
from archdata.embedded import tops_selection

COUNTS = dict(train=3, search=4, rescore=5, test=2)


def small_target(root):
    return prepare_tops_target(root, *(COUNTS[p] for p in TARGET_PARTS))


def test_tops_parts_are_disjoint_and_sized_per_class():
    selection = tops_selection(COUNTS, seed=0)
    for split, picked in selection.items():
        indices = np.concatenate([i for _, i in picked])
        assert len(set(indices.tolist())) == len(indices)  # no image in two parts
        names = {name for name, _ in picked}
        assert names == ({'test'} if split == 'test' else {'train', 'search', 'rescore'})
        for name in names:
            assert sum(len(i) for n, i in picked if n == name) == COUNTS[name] * 5
    assert str(tops_selection(COUNTS, seed=0)) == str(selection)  # deterministic
    assert str(tops_selection(COUNTS, seed=1)) != str(selection)


def test_tops_target_layout_parts_and_stamp(tmp_path):
    root = small_target(tmp_path / 'tops')
    classes = tuple(FASHION_MNIST_CLASSES[c] for c in TOPS_CLASSES)
    paths = {}
    for part in TARGET_PARTS:
        dataset = CUBPart(str(root), part, metainfo=dict(classes=classes))
        labels = [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]
        assert np.bincount(labels).tolist() == [COUNTS[part]] * 5
        paths[part] = {dataset.get_data_info(i)['img_path'] for i in range(len(dataset))}
    assert sum(map(len, paths.values())) == len(set().union(*paths.values()))
    split = dict(line.split() for line in (root / 'train_test_split.txt').read_text().split('\n')
                 if line)
    parts = dict(line.split() for line in (root / 'parts.txt').read_text().split('\n') if line)
    assert all((split[i] == '0') == (p == 'test') for i, p in parts.items())
    stamp = (root / '.selection').stat().st_mtime_ns
    again = small_target(root)  # same selection: nothing rewritten
    assert again == root and (root / '.selection').stat().st_mtime_ns == stamp
    other = small_target(tmp_path / 'other')  # same arguments elsewhere: the same files
    assert (other / 'images.txt').read_text() == (root / 'images.txt').read_text()
    assert (other / 'parts.txt').read_text() == (root / 'parts.txt').read_text()
    with pytest.raises(ValueError, match="no image of part 'val'"):
        CUBPart(str(root), 'val')


def test_split_source_holds_no_target_class(tmp_path):
    root = prepare_demo_source(tmp_path / 'source', 2, 1, classes=SPLIT_SOURCE_CLASSES)
    folders = sorted(p.name for p in (root / 'train').iterdir())
    assert folders == sorted(FASHION_MNIST_CLASSES[c] for c in SPLIT_SOURCE_CLASSES)
    assert not set(folders) & {FASHION_MNIST_CLASSES[c] for c in TOPS_CLASSES}
    assert len(list((root / 'train').glob('*/*.png'))) == 10
    assert len(list((root / 'val').glob('*/*.png'))) == 5
