"""Cut a child out of a super-network checkpoint (weight inheritance, paper 004 Sec. 3.4).

    python tools/extract_subnet.py work_dirs/supernet_resnet_fashion/iter_600.pth \
        --allocation 1,3,7,5 --out work_dirs/child_1-3-7-5.pth

Writes the child checkpoint (the model's keys minus the dropped blocks, and meta with space,
allocation, FLOPs and parameters) and prints the backbone config that loads it. A stage deeper
than the super-network's maximum (a child ``tools/greedy_search.py --beyond-max`` found) is grown
as the search scored it: the deepest super-network child inside it is cut out and the extra
blocks are initialized from it by weight transfer (``--transfer-method``, DPIAT by default).
"""
import argparse
import json
import pprint
from pathlib import Path

import _unshadow  # noqa: F401  (tools/transfer.py would shadow the transfer package)
from supernet.export import export_child
from supernet.spaces import parse_allocation
from transfer import METHODS


def main():
    parser = argparse.ArgumentParser(description='Cut a child out of a super-network checkpoint')
    parser.add_argument('checkpoint', help='super-network checkpoint (tools/train_supernet.py)')
    parser.add_argument('--allocation', required=True, type=parse_allocation,
                        help='depth per searched stage, e.g. 1,3,7,5')
    parser.add_argument('--out', help='child checkpoint path (default: next to CHECKPOINT, '
                        'named child_<allocation>.pth)')
    parser.add_argument('--space', help="search space, if the checkpoint's meta lacks it")
    parser.add_argument('--prefix', help="where the backbone's keys start (default: detected)")
    parser.add_argument('--input-size', type=int, help='image side for the FLOPs in the meta')
    parser.add_argument('--transfer-method', default='dpiat', choices=sorted(METHODS),
                        help="initializes the blocks past the super-network's depth, if any")
    args = parser.parse_args()
    name = '-'.join(map(str, args.allocation))
    out = args.out or str(Path(args.checkpoint).with_name(f'child_{name}.pth'))
    cfg = export_child(args.checkpoint, args.allocation, out, space=args.space,
                       prefix=args.prefix, input_size=args.input_size,
                       transfer_method=args.transfer_method)
    print(f'wrote {out}')
    print('backbone config (e.g. model.backbone in a config):')
    print('backbone = ' + pprint.pformat(cfg, sort_dicts=False, width=96))
    print(json.dumps({'allocation': list(args.allocation), 'checkpoint': out}))


if __name__ == '__main__':
    main()
