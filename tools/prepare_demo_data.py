"""Write the embedded demo data into the on-disk layouts real datasets use.

    python tools/prepare_demo_data.py   # data/demo/fashion_mnist (ImageNet layout, the source)
                                        # data/demo/digits_cub (CUB-200-2011 layout, the target)
                                        # data/demo/coco_glyphs (COCO layout, the detection target)
"""
import argparse
import time

from common.cli import run_cli  # first: quiets mmengine's import-time warnings
from archdata import prepare_demo_source, prepare_demo_target, write_coco_glyphs  # isort: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default='data/demo', help='output folder (default: data/demo)')
    parser.add_argument('--train-per-class', type=int, default=2000,
                        help="source images per class from Fashion-MNIST's training split "
                        '(default: 2000)')
    parser.add_argument('--val-per-class', type=int, default=200,
                        help="source validation images per class from Fashion-MNIST's test "
                        'split (default: 200)')
    parser.add_argument('--detection-train', type=int, default=400,
                        help='images of the detection set\'s train split (default: 400)')
    parser.add_argument('--detection-val', type=int, default=100,
                        help='images of the detection set\'s val split (default: 100)')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    source = prepare_demo_source(f'{args.root}/fashion_mnist', args.train_per_class,
                                 args.val_per_class)
    print(f'source (Fashion-MNIST, ImageNet layout): {source} '
          f'[{time.perf_counter() - start:.1f} s]')
    target = prepare_demo_target(f'{args.root}/digits_cub')
    print(f'target (scikit-learn digits, CUB-200-2011 layout): {target}')
    detection = write_coco_glyphs(f'{args.root}/coco_glyphs', args.detection_train,
                                  args.detection_val)
    print(f'detection target (Fashion-MNIST glyphs on canvases, COCO layout): {detection}')


if __name__ == '__main__':
    run_cli(main)
