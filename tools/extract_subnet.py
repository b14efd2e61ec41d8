"""Cut a subnet out of a super-network checkpoint (weight inheritance, Sun et al. Sec. 3.4).

    python tools/extract_subnet.py work_dirs/supernet_resnet_fashion/iter_600.pth \
        --allocation 1-3-7-5 --out work_dirs/subnet_1-3-7-5.pth

Writes the subnet checkpoint (the model's keys minus the dropped blocks, and meta with space,
allocation, FLOPs and parameters) and prints the backbone config that loads it. A stage deeper
than the super-network's maximum is refused, unless ``--beyond-max N`` allows up to N more blocks
per stage (a subnet ``tools/greedy_search.py --beyond-max N`` found): it is grown as the search
scored it, the deepest super-network subnet inside it cut out and the extra blocks initialized
from it by weight transfer (``--transfer-method``, DPIAT by default).

``--allocation`` takes the printed form ``1-3-7-5`` or ``1,3,7,5``. Refused in one line (exit 2;
``--debug`` for a traceback): an allocation that is neither, one outside the space (or deeper
than ``--beyond-max`` allows), an ``--out`` that is the input checkpoint, a file that is
not a readable checkpoint.
"""
import argparse
import json
import pprint
from pathlib import Path

from common.cli import allocation_values_as_text, parsed_by, run_cli
from supernet.spaces import format_allocation, parse_allocation
from transfer import METHODS


def main(argv=None):
    parser = argparse.ArgumentParser(description='Cut a subnet out of a super-network checkpoint')
    parser.add_argument('checkpoint', help='super-network checkpoint (tools/train_supernet.py)')
    parser.add_argument('--allocation', required=True, action=parsed_by(parse_allocation),
                        help='depth per searched stage, as printed (1-3-7-5) or 1,3,7,5')
    parser.add_argument('--out', help='subnet checkpoint path (default: next to CHECKPOINT, '
                        'named subnet_<allocation>.pth)')
    parser.add_argument('--space', help="search space, if the checkpoint's meta lacks it")
    parser.add_argument('--prefix', help="where the backbone's keys start (default: detected)")
    parser.add_argument('--input-size', type=int, help='image side for the FLOPs in the meta')
    parser.add_argument('--beyond-max', type=int, default=0,
                        help="blocks a stage may have past the super-network's depth, grown by "
                        'weight transfer (default 0: refuse deeper allocations)')
    parser.add_argument('--transfer-method', default='dpiat', choices=sorted(METHODS),
                        help="initializes the blocks past the super-network's depth, if any")
    parser.add_argument('--debug', action='store_true', help='tracebacks instead of one-line '
                        'errors')
    args = parser.parse_args(allocation_values_as_text(argv, ['--allocation']))
    out = args.out or str(Path(args.checkpoint).with_name(
        f'subnet_{format_allocation(args.allocation)}.pth'))
    options = dict(space=args.space, prefix=args.prefix, input_size=args.input_size)
    if args.beyond_max:
        from initialize.grow import extract_subnet_beyond_max
        cfg = extract_subnet_beyond_max(args.checkpoint, args.allocation, out, args.beyond_max,
                                        transfer_method=args.transfer_method, **options)
    else:
        from supernet.extract import extract_subnet_checkpoint
        cfg = extract_subnet_checkpoint(args.checkpoint, args.allocation, out, **options)
    print(f'wrote {out} (subnet {format_allocation(args.allocation)})')
    print('backbone config (e.g. model.backbone in a config):')
    print('backbone = ' + pprint.pformat(cfg, sort_dicts=False, width=96))
    print(json.dumps({'allocation': list(args.allocation), 'checkpoint': out}))


if __name__ == '__main__':
    run_cli(main)
