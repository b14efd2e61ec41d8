"""Write the embedded demo data into the on-disk layouts real datasets use.

    python tools/prepare_demo_data.py                 # data/demo/fashion_mnist (ImageNet layout)
"""
import argparse
import time

from supernet.datasets import prepare_demo_source


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default='data/demo', help='output folder (default: data/demo)')
    parser.add_argument('--train-per-class', type=int, default=2000)
    parser.add_argument('--val-per-class', type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    source = prepare_demo_source(f'{args.root}/fashion_mnist', args.train_per_class,
                                 args.val_per_class)
    print(f'source (Fashion-MNIST, ImageNet layout): {source} '
          f'[{time.perf_counter() - start:.1f} s]')


if __name__ == '__main__':
    main()
