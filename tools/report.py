"""Reproduce paper 004's claims in miniature on the embedded demo data: one command, a markdown
report with figures (the searched subnet vs the default allocation, architecture matters, greedy
vs other searches, weight inheritance, heterogeneous transfer, effective receptive fields, the
search trajectory).

    python tools/report.py                                  # full run, with progress bars
    python tools/report.py --supernet report/supernet.pth   # reuse a trained super-network
    python tools/report.py --reduced --out /tmp/report      # tiny sizes (the tests')
    python tools/report.py --render-only --out report       # redraw from report/report.json
    python tools/report.py --resume                         # continue a stopped run
    python tools/report.py --no-source-step                 # the headline without Sec. 3.4's step
    python tools/report.py --warm-start                     # super-network from a trained subnet
    python tools/report.py --recipe sandwich_distill --supernet-iters 250   # BigNAS's recipe
    python tools/report.py --source-distill alone --source-iters 600        # distilled source step
    python tools/compare_reports.py report runs/seed5       # do its verdicts survive a rerun?

Writes OUT/report.json (every number), OUT/README.md and OUT/*.png (rendered from the JSON),
OUT/supernet.pth when the super-network was trained here, and scratch files in OUT/work.
"""
import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

import torch

from common.cli import run_cli
from engine.recipes import RECIPES
from reproduce import FULL, REDUCED, render_report, run_report
from reproduce.headline import claim_lines, diagnostic_lines
from reproduce.settings import SOURCE_TEACHERS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='report', help='output folder (default: report/)')
    parser.add_argument('--supernet', help='trained demo super-network checkpoint to reuse '
                        '(configs/demo/supernet_resnet_fashion_split.py); default: train one')
    parser.add_argument('--seed', type=int, default=0, help='seed of everything random')
    parser.add_argument('--reduced', action='store_true',
                        help='tiny sizes: checks the pipeline, not the claims')
    parser.add_argument('--data-root', help='demo data folder (default: data/demo, or '
                        'data/demo_reduced with --reduced)')
    parser.add_argument('--budget', type=int, help='blocks C of the searches and of the '
                        'architecture study (default: 16, ResNet-50\'s; 6 with --reduced)')
    parser.add_argument('--resume', action='store_true',
                        help='continue a stopped run with the same options in OUT: reuse its '
                        'super-network, target fine-tuning, search evaluations and subnet '
                        'fine-tunes (OUT/work)')
    parser.add_argument('--processes', type=int, choices=(1, 2), default=2,
                        help='2 (default): the transfer section, the last target seed\'s '
                        'searches and half the headline\'s training run in a second process, on '
                        'the second core; 1: everything in this one (same results, slower)')
    parser.add_argument('--no-source-step', action='store_true',
                        help='the headline without paper Sec. 3.4\'s step (subnets fine-tuned '
                        'on the source before the target): settings.source_step=False')
    parser.add_argument('--warm-start', action='store_true',
                        help='start the super-network from the default allocation trained alone '
                        'on the source (settings.warm_start), not from random init')
    parser.add_argument('--recipe', choices=list(RECIPES),
                        help='how the super-network trains (settings.supernet_recipe; default '
                        'uniform, one subnet drawn per step): sandwich, the largest, two drawn '
                        'and the smallest per step; sandwich_distill, with inplace distillation')
    parser.add_argument('--supernet-iters', type=int,
                        help='super-network training iterations (default 600; hold a costlier '
                        "recipe's compute with fewer: benchmarks/supernet_recipes.py)")
    parser.add_argument('--source-iters', type=int,
                        help="iterations of the source step, start (ii) (default 200; 600 is "
                        "the stand-alone network's count)")
    parser.add_argument('--source-lr', type=float,
                        help="peak learning rate of the source step (default: its config's, "
                        "0.02, a tenth of the super-network's)")
    parser.add_argument('--source-distill', choices=SOURCE_TEACHERS,
                        help='the source step also learns from a frozen teacher: alone, the '
                        "default trained alone (start iii); largest, the super-network's "
                        'largest subnet; none (default): the labels only')
    parser.add_argument('--render-only', action='store_true',
                        help='redraw README.md and the figures from OUT/report.json')
    args = parser.parse_args(argv)

    out = Path(args.out)
    if args.render_only:
        if not (out / 'report.json').is_file():
            parser.error(f'--render-only: {out / "report.json"} not found')
        print(f'wrote {render_report(out / "report.json")}')
        return
    if args.supernet and not Path(args.supernet).is_file():
        parser.error(f'--supernet {args.supernet}: no such file')
    if args.supernet and args.warm_start:
        parser.error('--warm-start: the super-network is given by --supernet (trained already); '
                     'pass one of the two')
    for name in ('recipe', 'supernet_iters'):
        if args.supernet and getattr(args, name) is not None:
            parser.error(f'--{name.replace("_", "-")}: the super-network is given by --supernet '
                         '(trained already); pass one of the two')
    for name in ('supernet_iters', 'source_iters'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} {value}: a count of iterations >= 1')
    if args.source_lr is not None and not args.source_lr > 0:
        parser.error(f'--source-lr {args.source_lr}: a learning rate > 0')
    settings = REDUCED if args.reduced else FULL
    if args.budget is not None:
        if not 5 <= args.budget <= 20:
            parser.error(f'--budget {args.budget}: use 5..20 blocks (the exhaustive search '
                         'scores every allocation of that size: 969 at 20)')
        settings = settings.replace(budget=args.budget)
    if args.no_source_step:
        settings = settings.replace(source_step=False)
    if args.warm_start:
        settings = settings.replace(warm_start=True)
    changes = dict(supernet_recipe=args.recipe, supernet_iters=args.supernet_iters,
                   source_finetune_iters=args.source_iters, source_distill=args.source_distill,
                   source_finetune_lr=args.source_lr)
    settings = settings.replace(**{k: v for k, v in changes.items() if v is not None})
    torch.set_num_threads(1)  # threads contend on a shared machine (docs/report.md)
    warnings.filterwarnings('ignore')  # mmengine's deprecation notes would bury the bars
    command = shlex.join(['python', 'tools/report.py', *sys.argv[1:]])
    start = time.perf_counter()
    try:
        report = run_report(settings, out, seed=args.seed, supernet=args.supernet,
                            data_root=args.data_root, command=command, resume=args.resume,
                            config_dir=Path(__file__).resolve().parents[1] / 'configs',
                            processes=args.processes)
    except (FileExistsError, FileNotFoundError) as err:  # OUT/work is not ours / not there
        parser.error(str(err))
    readme = render_report(report, out)
    print(f'wrote {readme} and {len(list(out.glob("*.png")))} figures from '
          f'{out / "report.json"} in {time.perf_counter() - start:.0f} s')
    headline = report['sections']['headline']
    lines = claim_lines(headline) + diagnostic_lines(headline)
    print('headline:\n' + '\n'.join(lines).replace('**', ''))
    reused = report['meta']['reused']
    if args.resume:
        print('reused from the stopped run: ' + ', '.join(f'{k.replace("_", " ")} {v}'
                                                          for k, v in reused.items()))
    if report['meta']['supernet'].get('trained_here'):
        print(f'reuse the super-network with --supernet {out / "supernet.pth"}')
    print('these verdicts are one draw: check them against a run with another --seed '
          f'(--out elsewhere) with python tools/compare_reports.py {out} OTHER_OUT')


if __name__ == '__main__':
    run_cli(main)
