"""Effective receptive fields of a stage for several allocations, side by side (paper 004,
Sec. 4.1; Luo et al. 2016): |d centre output / d input|, averaged over images.

    python tools/visualize_erf.py --space resnet_bottleneck_demo \
        --allocations 1,1,1,1 3,4,6,3 1,3,7,5 --out erf.png
    python tools/visualize_erf.py --checkpoint report/supernet.pth --allocations 3,4,6,3 1,3,7,5 \
        --input ones --linear --out erf_paper.png          # the paper's: no ReLU, input ones

The subnets share one super-network's weights (``--checkpoint``, a super-network or subnet
checkpoint; without it an untrained super-network seeded with ``--seed``). Prints r90 (half-width
of the centred square holding 90% of the ERF) and the share outside the central square, and
writes them with the command to ``OUT`` with the suffix ``.json``.
"""
import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from common.cli import run_cli  # isort: skip
from analysis.erf import (
    INPUTS,
    allocation_backbones,
    effective_receptive_field,
    erf_inputs,
    erf_stats,
    plot_erfs,
)
from supernet import format_allocation, parse_allocation


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--space', help="search space (default: the checkpoint's)")
    parser.add_argument('--allocations', nargs='+', required=True, type=parse_allocation,
                        help='depths per stage, e.g. 1,3,7,5 3,4,6,3')
    parser.add_argument('--checkpoint', help='super-network (or subnet) checkpoint; default: an '
                        'untrained super-network')
    parser.add_argument('--stage', type=int, help='searched stage, 1-based (default: the last)')
    parser.add_argument('--images', type=int, default=16, help='inputs averaged over')
    parser.add_argument('--input', choices=INPUTS, default='noise',
                        help='standard normal noise, ones (the paper), or the digits')
    parser.add_argument('--size', type=int, default=64, help='input side in pixels')
    parser.add_argument('--linear', action='store_true',
                        help='drop the ReLUs (the paper); the ERF then ignores the input')
    parser.add_argument('--center-radius', type=float,
                        help='half-width of the central square (default: size / 8)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the inputs and of an untrained super-network (default: 0)')
    parser.add_argument('--out', default='erf.png', help='figure to write (default: erf.png)')
    parser.add_argument('--debug', action='store_true', help='tracebacks instead of one-line '
                        'errors')
    args = parser.parse_args(argv)
    if args.space is None and args.checkpoint is None:
        parser.error('give --space, --checkpoint, or both')
    if args.checkpoint and not Path(args.checkpoint).is_file():
        parser.error(f'--checkpoint {args.checkpoint}: no such file')
    torch.set_num_threads(1)

    inputs = erf_inputs(args.input, args.images, args.size, args.seed)
    panels, results = [], []
    for allocation, backbone in allocation_backbones(args.space, args.allocations,
                                                     args.checkpoint, args.seed):
        stage = args.stage or backbone.space.num_stages
        erf = effective_receptive_field(backbone, inputs, stage, linear=args.linear)
        stats = erf_stats(erf, args.center_radius)
        name = format_allocation(allocation)
        panels.append((name, erf, stats))
        results.append(dict(allocation=list(allocation), **stats))
        print(f'{name:>16}: r90 {stats["radius90"]:6.2f} px, outside the central square '
              f'(half-width {stats["center_radius"]:g} px) {stats["outer_percent"]:5.1f}%')
    command = shlex.join(['python', 'tools/visualize_erf.py', *sys.argv[1:]])
    space = backbone.space.name
    setting = (f'{"ReLU dropped" if args.linear else "ReLU kept"}, input {args.input} '
               f'x{args.images}')
    out = plot_erfs([(setting, panels)], args.out, footer=f'{command}   (seed {args.seed})',
                    suptitle=f'ERF of stage {stage} ({space}, {args.size} px)')
    record = Path(out).with_suffix('.json')
    record.write_text(json.dumps(dict(command=command, seed=args.seed, space=space, stage=stage,
                                      input=args.input, images=args.images, size=args.size,
                                      linear=args.linear, checkpoint=args.checkpoint,
                                      results=results), indent=1))
    print(f'wrote {out} and {record}')


if __name__ == '__main__':
    run_cli(main)
