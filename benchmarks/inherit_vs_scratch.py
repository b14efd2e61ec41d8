"""Weight inheritance against random initialisation: the found subnet fine-tuned for the same
number of epochs, same data, same seed, from the super-network's weights and from scratch.

    python benchmarks/inherit_vs_scratch.py                           # the demo's found subnet
    python benchmarks/inherit_vs_scratch.py --allocation 1,4,5,2 --epochs 10

The report's inheritance study (:func:`reproduce.inheritance.inherited_vs_random`) with
configs/demo/finetune_subnet_digits.py (trained on the target's training split, top-1 on its test
split after every epoch); the two runs differ only in the backbone's initialisation.
"""
import argparse
import json
import tempfile
from pathlib import Path

from engine.training import finetune_subnet_curve
from reproduce.inheritance import inherited_vs_random
from supernet.extract import extract_subnet_checkpoint
from supernet.spaces import parse_allocation


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/demo/finetune_subnet_digits.py')
    parser.add_argument('--supernet', default='work_dirs/supernet_resnet_fashion/iter_600.pth')
    parser.add_argument('--allocation', type=parse_allocation,
                        help="default: the chosen one in work_dirs/search_digits/result.json")
    parser.add_argument('--epochs', type=int, default=10)
    args = parser.parse_args(argv)
    allocation = args.allocation or tuple(json.loads(
        Path('work_dirs/search_digits/result.json').read_text())['best']['allocation'])

    with tempfile.TemporaryDirectory() as tmp:
        def finetune_curve(depths, init):
            checkpoint = None
            if init == 'inherited':
                checkpoint = f'{tmp}/subnet.pth'
                extract_subnet_checkpoint(args.supernet, depths, checkpoint)
            return finetune_subnet_curve(args.config, depths, checkpoint, f'{tmp}/{init}',
                                         epochs=args.epochs)

        rows, (gain,) = inherited_vs_random({tuple(allocation): 'found'}, finetune_curve)
    inherited, scratch = (r['top1'] for r in rows)
    print(f'subnet {allocation}, {args.epochs} epochs on the target, top-1 on its test split:')
    for row in rows:
        print(f'  {row["init"] + ":":<10} {row["top1"]:.2f}%  (after each epoch: '
              + ', '.join(f'{top1:.1f}' for top1 in row['curve']) + ')')
    print(f'  inherited - random = {gain["final_gain"]:+.2f} points (ahead after '
          f'{gain["epochs_ahead"]} of {args.epochs} epochs); ratio inherited / random = '
          f'{inherited / scratch:.3f}')
    return rows, gain


if __name__ == '__main__':
    main()
