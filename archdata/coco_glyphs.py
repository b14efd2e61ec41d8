"""An embedded detection and instance-segmentation set in the COCO format: real glyphs on canvases.

Each image is a dark, noisy canvas (sides drawn from 96–128 px by default) holding 1–4 glyphs —
Fashion-MNIST clothing items or scikit-learn handwritten digits — each scaled by a random factor
and pasted at a random position where it overlaps no other. Classes, masks and boxes are exact:
the mask is the glyph's pixels above a threshold after scaling (only those are pasted; the
background stays at or below it, so the mask is exactly where the image exceeds it), the box is
the mask's tight bounding box, and the mask is stored as COCO run-length encoding.

The files have COCO 2017's layout, so mmdet's own ``CocoDataset``, ``LoadAnnotations`` and
``CocoMetric`` read them as they read COCO::

    ROOT/annotations/instances_train.json    ROOT/train/000001.png ...
    ROOT/annotations/instances_val.json      ROOT/val/000001.png ...

Training and validation images draw their glyphs from disjoint halves of the glyph pool (for
Fashion-MNIST its test split, which the demo super-network never trains on), and everything is
a function of ``seed``: the same call writes the same bytes.

    >>> import json, tempfile
    >>> root = write_coco_glyphs(tempfile.mkdtemp(), num_train=3, num_val=2, source='digits')
    >>> coco = json.loads((root / 'annotations/instances_val.json').read_text())
    >>> len(coco['images']), [c['name'] for c in coco['categories']][:3]
    (2, ['digit-0', 'digit-1', 'digit-2'])
    >>> sorted(coco['annotations'][0])
    ['area', 'bbox', 'category_id', 'id', 'image_id', 'iscrowd', 'segmentation']
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .embedded import DIGITS_CLASSES, FASHION_MNIST_CLASSES, load_digits, load_fashion_mnist

GLYPH_SOURCES = ('fashion_mnist', 'digits')
SPLITS = ('train', 'val')
MASK_THRESHOLD = 48  # glyph pixels (0..255) above this are the object


def load_glyphs(source: str = 'fashion_mnist') -> tuple:
    """The glyph pool of ``source``: (uint8 N×S×S ink-on-black images, int64 N labels, classes).

    ``'fashion_mnist'``: Fashion-MNIST's 10,000 test images (28 px); ``'digits'``:
    scikit-learn's 1,797 digits, upsampled from 8 to 24 px.
    """
    if source == 'fashion_mnist':
        images, labels = load_fashion_mnist('test')
        return images, labels, FASHION_MNIST_CLASSES
    if source == 'digits':
        from PIL import Image
        images, labels = load_digits()
        images = np.stack([np.asarray(Image.fromarray(g).resize((24, 24), Image.BILINEAR))
                           for g in images])
        return images, labels, DIGITS_CLASSES
    raise ValueError(f'source={source!r}: allowed {GLYPH_SOURCES}')


def compose_image(rng: np.random.Generator, glyphs: np.ndarray, canvas=(96, 128),
                  objects=(1, 4), scale=(0.75, 2.5), max_tries: int = 50) -> tuple:
    """Paste randomly drawn ``glyphs`` onto one canvas.

    Args:
        rng: the only source of randomness.
        glyphs: (N, S, S) uint8 pool to draw from.
        canvas: range of the canvas height and width (each drawn independently, inclusive).
        objects: range of the number of glyphs (inclusive); a glyph that finds no free place in
            ``max_tries`` positions, or whose ink is under 4 px high or wide, is left out.
        scale: range of the glyph's scale factor (its side becomes ``round(S × factor)``).

    Returns:
        (image (H, W) uint8, [(pool index, mask (H, W) bool), ...]) — masks do not overlap.

    Example:
        >>> pool = np.full((1, 4, 4), 255, np.uint8)
        >>> image, placed = compose_image(np.random.default_rng(0), pool, canvas=(16, 16),
        ...                               objects=(2, 2), scale=(1, 1))
        >>> image.shape, [(index, int(mask.sum())) for index, mask in placed]
        ((16, 16), [(0, 16), (0, 16)])
    """
    from PIL import Image
    height, width = (int(rng.integers(canvas[0], canvas[1] + 1)) for _ in range(2))
    # a dark, noisy background that stays at or below the ink threshold
    background = rng.integers(0, 25)
    image = np.clip(background + rng.normal(0, 6, (height, width)), 0, MASK_THRESHOLD)
    image = image.astype(np.uint8)
    taken = np.zeros((height, width), bool)  # boxes so far, with a 1-px margin
    placed = []
    for _ in range(int(rng.integers(objects[0], objects[1] + 1))):
        index = int(rng.integers(len(glyphs)))
        side = int(round(glyphs.shape[1] * rng.uniform(*scale)))
        side = min(side, height, width)
        glyph = np.asarray(Image.fromarray(glyphs[index]).resize((side, side), Image.BILINEAR))
        ink = glyph > MASK_THRESHOLD
        if not ink.any():
            continue
        rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        glyph, ink = (a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] for a in (glyph, ink))
        h, w = ink.shape
        if min(h, w) < 4:  # a sandal scaled down can end up a line; not an object to detect
            continue
        for _ in range(max_tries):
            y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            if not taken[y:y + h, x:x + w].any():
                break
        else:
            continue
        taken[max(y - 1, 0):y + h + 1, max(x - 1, 0):x + w + 1] = True
        image[y:y + h, x:x + w][ink] = glyph[ink]
        mask = np.zeros((height, width), bool)
        mask[y:y + h, x:x + w] = ink
        placed.append((index, mask))
    return image, placed


def coco_annotation(mask: np.ndarray, category_id: int, image_id: int, ann_id: int) -> dict:
    """A COCO instance annotation of a boolean mask: RLE, tight box ``[x, y, w, h]``, area.

    >>> mask = np.zeros((6, 8), bool)
    >>> mask[1:4, 2:7] = True                               # 3 rows x 5 columns
    >>> ann = coco_annotation(mask, category_id=3, image_id=1, ann_id=1)
    >>> ann['bbox'], ann['area'], ann['segmentation']['size']
    ([2, 1, 5, 3], 15, [6, 8])
    """
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    bbox = [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]
    return dict(id=ann_id, image_id=image_id, category_id=category_id, bbox=bbox,
                area=int(mask.sum()), iscrowd=0,
                segmentation=dict(size=list(rle['size']), counts=rle['counts'].decode('ascii')))


def write_coco_glyphs(root, num_train: int = 400, num_val: int = 100,
                      source: str = 'fashion_mnist', canvas=(96, 128), objects=(1, 4),
                      scale=(0.75, 2.5), seed: int = 0) -> Path:
    """Write the glyph set (see the module doc) to ``root`` and return ``root``.

    Skips the work when ``root`` already holds a set written with the same arguments.
    """
    if source not in GLYPH_SOURCES:
        raise ValueError(f'source={source!r}: allowed {GLYPH_SOURCES}')
    if not (0 < canvas[0] <= canvas[1] and 1 <= objects[0] <= objects[1]
            and 0 < scale[0] <= scale[1]):
        raise ValueError(f'canvas={canvas}, objects={objects}, scale={scale}: each must be a '
                         '(low, high) range with 0 < low <= high (objects: 1 <= low)')
    from PIL import Image
    root = Path(root)
    stamp = root / '.selection'
    selection = json.dumps(dict(source=source, num_train=num_train, num_val=num_val,
                                canvas=list(canvas), objects=list(objects), scale=list(scale),
                                seed=seed))
    if stamp.exists() and stamp.read_text() == selection:
        return root
    images, labels, classes = load_glyphs(source)
    order = np.random.default_rng([seed, 0]).permutation(len(images))
    pools = dict(train=order[:len(order) // 2], val=order[len(order) // 2:])
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    categories = [dict(id=i + 1, name=name, supercategory=source)
                  for i, name in enumerate(classes)]
    for split_id, (split, count) in enumerate((('train', num_train), ('val', num_val))):
        rng = np.random.default_rng([seed, split_id + 1])
        pool = pools[split]
        glyphs = images[pool]
        (root / split).mkdir(parents=True, exist_ok=True)
        coco = dict(info=dict(description=f'archtransfer glyphs ({source}), {split} split',
                              seed=seed),
                    images=[], annotations=[], categories=categories)
        for image_id in range(1, count + 1):
            image, placed = compose_image(rng, glyphs, canvas, objects, scale)
            file_name = f'{image_id:06d}.png'
            Image.fromarray(image).convert('RGB').save(root / split / file_name)
            coco['images'].append(dict(id=image_id, file_name=file_name,
                                       height=image.shape[0], width=image.shape[1]))
            for index, mask in placed:
                coco['annotations'].append(coco_annotation(
                    mask, int(labels[pool[index]]) + 1, image_id, len(coco['annotations']) + 1))
        (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(coco))
    stamp.write_text(selection)
    return root
