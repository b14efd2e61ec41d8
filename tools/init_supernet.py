"""Initialise a super-network from pretrained networks (warm start) instead of training it from
scratch.

    python tools/init_supernet.py resnet_bottleneck --from torchvision:resnet152:IMAGENET1K_V2 \\
        --out work_dirs/supernet_r152_init.pth
    python tools/init_supernet.py mobilenet_v2 --from mobilenet_v2.pth --fill repeat --out mbv2.pth
    python tools/init_supernet.py resnet_basic --from timm:resnet50=r50.pth --fill dpiat --out x.pth

SPACE is a search space (resnet_bottleneck, mobilenet_v2, mnasnet, ...). Each SOURCE is
``torchvision:NAME[:WEIGHTS]`` or ``timm:NAME`` (weights downloaded by that library),
``torchvision:NAME=PATH`` / ``timm:NAME=PATH`` (that architecture, weights from a file), or a
checkpoint file: torchvision, timm, mmpretrain or mmdet (``backbone.*``) weights, or a subnet or
super-network of this project. The blocks a source has are copied exactly (stem, downsample,
BatchNorm statistics, and its classifier as ``head.fc.*``); earlier sources win. Every other
block is filled by --fill:

  identity  the block's own initialisation with its residual branch's last BatchNorm at
            gamma = beta = 0: a deeper subnet computes what the source computes (default)
  repeat    a copy of the stage's last block a source has
  dpiat, hmt, tli
            a transfer method (docs/transfer.md) from the first source; the only way to use a
            source of another family, other widths or a non-prefix layout

Writes OUT (state_dict ``backbone.*`` / ``head.*``, meta with the space), which
train_supernet.py --load-from, greedy_search.py --checkpoint and extract_subnet.py take, and the
per-tensor manifest (target tensor, source tensor, rule, op, covered; the source keys left out)
next to it (``x.pth`` -> ``x.manifest.json``).

Refused in one line (exit 2; --debug for a traceback), before any network is built: an unknown
space or rule, a missing file, an unknown library model, an --out that is a source file; after
reading the sources, a source that does not fit the space (saying what does not fit) unless a
transfer method was chosen.
"""
import argparse
from pathlib import Path

from common.cli import parse_opt, run_cli
from initialize.sources import parse_source
from initialize.warm_start import FILL_RULES, init_from
from supernet.spaces import get_space, list_spaces


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='SPACE is' + __doc__.split('SPACE is', 1)[1])
    parser.add_argument('space', help=f'search space: {", ".join(list_spaces())}')
    parser.add_argument('--from', dest='sources', nargs='+', required=True, metavar='SOURCE',
                        help='pretrained networks, deepest first (see below)')
    parser.add_argument('--out', required=True, help='super-network checkpoint to write')
    parser.add_argument('--fill', default='identity', choices=FILL_RULES,
                        help='how blocks no source has are initialised (default: identity)')
    parser.add_argument('--manifest', help='manifest JSON (default: OUT with .manifest.json)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the initialisation of the blocks no source has')
    parser.add_argument('--no-head', action='store_true',
                        help="leave the sources' classifiers out of the checkpoint")
    parser.add_argument('--opt', action='append', type=parse_opt, default=[],
                        help='transfer method option key=value (repeatable), e.g. lam=0.5')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    space = get_space(args.space)
    out = Path(args.out).expanduser().resolve()
    for source in args.sources:
        path = parse_source(source)['path']
        if path and Path(path).expanduser().resolve() == out:
            raise ValueError(f'--out {args.out} is the source file {path}; choose another path')
    if args.opt and args.fill not in ('dpiat', 'hmt', 'tli'):
        raise ValueError(f'--opt is for transfer methods; --fill {args.fill} takes none')
    warm = init_from(space, args.sources, args.fill, seed=args.seed, head=not args.no_head,
                     **dict(args.opt))
    manifest = warm.save(out, args.manifest)
    print(warm.table())
    print(f'wrote {out}\nmanifest {manifest}')
    print('next: python tools/train_supernet.py CONFIG --load-from', out,
          '(or greedy_search.py CONFIG --checkpoint', f'{out})')


if __name__ == '__main__':
    run_cli(main)
