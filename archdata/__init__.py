"""Datasets: embedded demo data written in the layouts real users have (the digits target, and the
Fashion-MNIST class split whose 'tops' target has few labels and large held-out parts), CUB-200
(2010) and the CUB parts of that target, ImageNet of any number of classes in either layout, and a
held-out validation split of a training set."""
from .coco_glyphs import write_coco_glyphs
from .cub import CUB2010, CUBPart, write_cub2010, write_cub2011
from .embedded import (DIGITS_CLASSES, FASHION_MNIST_CLASSES, SPLIT_SOURCE_CLASSES, TARGET_PARTS,
                       TOPS_CLASSES, load_digits, load_fashion_mnist, prepare_demo_source,
                       prepare_demo_target, prepare_split_source, prepare_tops_target,
                       write_image_folder)
from .imagenet import ImageNetSubset
from .splits import held_out_split, split_train_val

__all__ = ['CUB2010', 'CUBPart', 'DIGITS_CLASSES', 'FASHION_MNIST_CLASSES', 'ImageNetSubset',
           'SPLIT_SOURCE_CLASSES', 'TARGET_PARTS', 'TOPS_CLASSES', 'held_out_split',
           'load_digits', 'load_fashion_mnist', 'prepare_demo_source', 'prepare_demo_target',
           'prepare_split_source', 'prepare_tops_target', 'split_train_val', 'write_coco_glyphs',
           'write_cub2010', 'write_cub2011', 'write_image_folder']
