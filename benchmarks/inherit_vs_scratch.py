"""Weight inheritance against random initialisation: the found child fine-tuned for the same
number of epochs, same data, same seed, from the super-network's weights and from scratch.

    python benchmarks/inherit_vs_scratch.py                           # the demo's found child
    python benchmarks/inherit_vs_scratch.py --allocation 1,4,5,2 --epochs 10

Both runs use configs/demo/finetune_child_digits.py (trained on the target's training split,
top-1 on its test split); they differ only in the backbone's initialisation.
"""
import argparse
import json
import tempfile

from search.engine import finetune_child
from supernet.export import export_child
from supernet.spaces import parse_allocation


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/demo/finetune_child_digits.py')
    parser.add_argument('--supernet', default='work_dirs/supernet_resnet_fashion/iter_600.pth')
    parser.add_argument('--allocation', type=parse_allocation,
                        help="default: the chosen one in work_dirs/search_digits/result.json")
    parser.add_argument('--epochs', type=int, default=10)
    args = parser.parse_args()
    allocation = args.allocation or tuple(json.load(
        open('work_dirs/search_digits/result.json'))['best']['allocation'])

    with tempfile.TemporaryDirectory() as tmp:
        child = f'{tmp}/child.pth'
        export_child(args.supernet, allocation, child)
        inherited = finetune_child(args.config, allocation, child, f'{tmp}/inherited',
                                   epochs=args.epochs)
        scratch = finetune_child(args.config, allocation, None, f'{tmp}/scratch',
                                 epochs=args.epochs)
    print(f'child {allocation}, {args.epochs} epochs on the target, top-1 on its test split:')
    print(f'  inherited weights: {inherited:.2f}%')
    print(f'  random init:       {scratch:.2f}%')
    print(f'  ratio inherited / random = {inherited / scratch:.3f}')


if __name__ == '__main__':
    main()
