"""Datasets: embedded demo data written in the layouts real users have."""
from .embedded import (DIGITS_CLASSES, FASHION_MNIST_CLASSES, load_digits, load_fashion_mnist,
                       prepare_demo_source, write_image_folder)

__all__ = ['DIGITS_CLASSES', 'FASHION_MNIST_CLASSES', 'load_digits', 'load_fashion_mnist',
           'prepare_demo_source', 'write_image_folder']
