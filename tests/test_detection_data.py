"""The embedded COCO-format glyph set: deterministic, exact, and read by mmdet's own CocoDataset."""
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from archdata import coco_glyphs, write_coco_glyphs
from archdata.coco_glyphs import MASK_THRESHOLD


def read_split(root, split):
    coco = json.loads((root / 'annotations' / f'instances_{split}.json').read_text())
    images = {i['id']: np.asarray(Image.open(root / split / i['file_name']).convert('L'))
              for i in coco['images']}
    return coco, images


def test_same_seed_same_bytes_other_seed_other_set(tmp_path):
    kwargs = dict(num_train=4, num_val=2, source='digits')
    a = write_coco_glyphs(tmp_path / 'a', seed=0, **kwargs)
    b = write_coco_glyphs(tmp_path / 'b', seed=0, **kwargs)
    c = write_coco_glyphs(tmp_path / 'c', seed=1, **kwargs)
    files = sorted(p.relative_to(a) for p in a.rglob('*') if p.is_file())
    assert len(files) == 4 + 2 + 2 + 1  # images, two annotation files, the stamp
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / 'annotations/instances_train.json').read_bytes() != \
        (c / 'annotations/instances_train.json').read_bytes()


def test_masks_boxes_and_classes_are_exact(tmp_path, monkeypatch):
    # Glyphs of class k are solid squares of grey level 60 + 15 k (bilinear scaling keeps a
    # constant image constant), so every pasted pixel tells the class it belongs to.
    pool = np.repeat(np.arange(10), 3)
    glyphs = np.stack([np.full((8, 8), 60 + 15 * k, np.uint8) for k in pool])
    monkeypatch.setattr(coco_glyphs, 'load_glyphs',
                        lambda source: (glyphs, pool, tuple(f'class-{k}' for k in range(10))))
    root = write_coco_glyphs(tmp_path, num_train=6, num_val=3, scale=(1, 3))
    for split, count in (('train', 6), ('val', 3)):
        coco, images = read_split(root, split)
        assert [c['id'] for c in coco['categories']] == list(range(1, 11))
        assert len(images) == count and coco['annotations']
        covered = {image_id: np.zeros_like(image, bool) for image_id, image in images.items()}
        for ann in coco['annotations']:
            image = images[ann['image_id']]
            mask = mask_utils.decode(ann['segmentation']).astype(bool)
            assert mask.shape == image.shape
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            assert ann['bbox'] == [cols[0], rows[0], cols[-1] - cols[0] + 1,
                                   rows[-1] - rows[0] + 1]
            assert ann['area'] == mask.sum() and ann['iscrowd'] == 0
            assert np.all(image[mask] == 60 + 15 * (ann['category_id'] - 1))
            assert not (covered[ann['image_id']] & mask).any()  # instances do not overlap
            covered[ann['image_id']] |= mask
        for image_id, image in images.items():  # nothing but the masks exceeds the threshold
            assert np.array_equal(image > MASK_THRESHOLD, covered[image_id])


def test_train_and_val_draw_on_disjoint_glyphs(tmp_path, monkeypatch):
    seen = {}

    def compose(rng, glyphs, *args):
        seen.setdefault(len(seen), glyphs)
        return compose_image(rng, glyphs, *args)
    compose_image = coco_glyphs.compose_image
    monkeypatch.setattr(coco_glyphs, 'compose_image', compose)
    write_coco_glyphs(tmp_path, num_train=1, num_val=1, source='digits')
    train, val = seen[0], seen[1]
    assert len(train) + len(val) == 1797
    flat_train = {g.tobytes() for g in train}
    assert sum(g.tobytes() in flat_train for g in val) < 5  # duplicates in the digits themselves


def test_mmdet_coco_dataset_reads_boxes_labels_and_masks(tmp_path):
    from mmdet.datasets import CocoDataset
    from mmdet.utils import register_all_modules
    register_all_modules()
    root = write_coco_glyphs(tmp_path, num_train=3, num_val=1)
    coco, _ = read_split(root, 'train')
    classes = tuple(c['name'] for c in coco['categories'])
    dataset = CocoDataset(
        data_root=str(root), ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'), metainfo=dict(classes=classes),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                  dict(type='PackDetInputs')])
    assert len(dataset) == 3
    for index in range(3):
        sample = dataset[index]['data_samples']
        anns = [a for a in coco['annotations'] if a['image_id'] == sample.img_id]
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)])
        np.testing.assert_array_equal(sample.gt_instances.bboxes.numpy(), boxes)
        assert sample.gt_instances.labels.tolist() == [a['category_id'] - 1 for a in anns]
        masks = sample.gt_instances.masks.to_ndarray().astype(bool)
        for mask, ann in zip(masks, anns):
            assert np.array_equal(mask, mask_utils.decode(ann['segmentation']).astype(bool))


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match=r"source='mnist': allowed \('fashion_mnist', 'digits'\)"):
        write_coco_glyphs(tmp_path, source='mnist')
    with pytest.raises(ValueError, match='canvas=.*range'):
        write_coco_glyphs(tmp_path, canvas=(128, 96))
