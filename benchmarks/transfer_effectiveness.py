"""Does a transferred initialization beat random init, and how much of pretraining does it give?

    python benchmarks/transfer_effectiveness.py                 # tops target, seeds 0 1 2
    python benchmarks/transfer_effectiveness.py --gap-only --evaluate-every 2  # the gap alone
    python benchmarks/transfer_effectiveness.py --target digits # the saturated digits target
    python benchmarks/transfer_effectiveness.py --target digits --adapt-epochs 3  # DPIAT's protocol

The report's transfer study (:func:`reproduce.hetero.fine_tune_pairs`) over every source ->
target pair of ``analysis.smallnets`` (``SOURCE_NETS`` x ``TARGET_NETS``), on either target of
``load_transfer_data``: ``tops`` (the class split the search uses; ``--labels-per-class``
labelled images per top) or ``digits`` (Fashion-MNIST sources, scikit-learn digits target). The
data are drawn, and the sources and pretrained references trained, with seed 0; ``--seeds``
vary the targets' random init and data order. ``--gap-only`` fine-tunes random init and the
pretrained reference only: a regime is chosen by the pretraining gap, before any transfer is
run in it.

Printed, top-1 in % on the target's test images: the pretraining gap (pretrained - random) per
target and tested epoch; per pair, averaged over the seeds (+- the std of the per-seed values),
each method's top-1, ratio to random init (DPIAT's effectiveness) with the pair's ceiling
1 / random, and share of the pretraining gain, (transfer - random) / (pretrained - random); per
method the mean ratio and share, also with the similarity guard (a source with similarity <
:data:`GUARD` keeps the random init: ratio 1, share 0) and over the pairs whose gap reaches the
goal's; mean ratios per tested epoch; Kendall tau between similarity and the measured ratio.
Training runs on one thread, as the report's: more threads on shared cores were slower.
"""
import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from scipy.stats import kendalltau

from analysis.smallnets import (
    GAP_GOAL,
    SHARE_GOAL,
    SOURCE_NETS,
    TARGET_NETS,
    evaluated_epochs,
    load_transfer_data,
)
from reproduce.hetero import BATCH, LR, METHOD_ORDER, fine_tune_pairs, method_summary, pair_figures

GUARD = 0.5  # TLI's "significantly different" architectures
# Per target: fine-tuning epochs, training / test images (tops: labels per class and test images
# in all) and source images, chosen by the pretraining gap alone (docs/benchmarks.md).
DEFAULTS = {
    'digits': {'epochs': 3, 'target_train': 500, 'target_test': 600, 'source_train': 8000},
    'tops': {'epochs': 12, 'labels_per_class': 5, 'target_test': 2000, 'source_train': 24000},
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--target', choices=sorted(DEFAULTS), default='tops')
    parser.add_argument('--epochs', type=int, help='target fine-tuning epochs; default: digits '
                        f'{DEFAULTS["digits"]["epochs"]}, tops {DEFAULTS["tops"]["epochs"]}')
    parser.add_argument('--labels-per-class', type=int, help='tops: labelled training images '
                        f'per class; default {DEFAULTS["tops"]["labels_per_class"]}')
    parser.add_argument('--target-train', type=int, help='digits: images to fine-tune on; '
                        f'default {DEFAULTS["digits"]["target_train"]}')
    parser.add_argument('--target-test', type=int,
                        help='test images (tops: a multiple of 5, as many per class); default: '
                             f'digits {DEFAULTS["digits"]["target_test"]}, tops '
                             f'{DEFAULTS["tops"]["target_test"]}')
    parser.add_argument('--source-train', type=int, help='source images; default: digits '
                        f'{DEFAULTS["digits"]["source_train"]}, tops '
                        f'{DEFAULTS["tops"]["source_train"]}')
    parser.add_argument('--source-epochs', type=int, default=2)
    parser.add_argument('--adapt-epochs', type=int, default=0,
                        help="DPIAT's own protocol: fine-tune each source this many epochs on "
                             'the target training data first, then transfer it head and all; '
                             '0 = the sources know the source data only')
    parser.add_argument('--gap-only', action='store_true',
                        help='random init and the pretrained reference only: the pretraining '
                             'gap per target and epoch, to choose a regime without looking at '
                             'any transfer')
    parser.add_argument('--evaluate-every', type=int,
                        help='test after every K-th fine-tuning epoch and after the last; '
                             'default: digits 1, tops the last epoch only (testing 2000 images '
                             'costs more than an epoch on a few labels)')
    parser.add_argument('--size', type=int, default=24)
    parser.add_argument('--lr', type=float, default=LR)
    parser.add_argument('--batch', type=int, default=BATCH)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args(argv)
    defaults = DEFAULTS[args.target]
    if args.target == 'tops':
        if args.target_train is not None:
            parser.error('--target-train is for --target digits; the tops target takes '
                         '--labels-per-class')
        args.labels_per_class = args.labels_per_class or defaults['labels_per_class']
        args.target_train = 5 * args.labels_per_class
    elif args.labels_per_class is not None:
        parser.error('--labels-per-class is for --target tops; digits take --target-train')
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.evaluate_every is None:
        args.evaluate_every = 1 if args.target == 'digits' else args.epochs
    return args


def mean_std(values) -> str:
    """``'+3.5 +- 1.6'`` (the standard deviation needs two values)."""
    spread = statistics.stdev(values) if len(values) > 1 else float('nan')
    return f'{statistics.mean(values):+.1f} +- {spread:.1f}'


def num(value, decimals=2) -> str:
    return 'n/a' if value is None else f'{value:+.{decimals}f}'


def mean_and_std(value, std) -> str:
    return num(value) if std is None else f'{num(value)} +- {std:.2f}'


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    start = time.time()
    data = load_transfer_data(args.source_train, args.target_train, args.target_test, args.size,
                              target=args.target)
    pairs = [] if args.gap_only else [(s, t) for t in TARGET_NETS for s in SOURCE_NETS]
    print(f'target {args.target}: {len(data.source_x)} source images ({args.source_epochs} '
          f'epochs), {len(data.target_x)} target training / {len(data.target_test_x)} test '
          f'images at {args.size} px; fine-tune {args.epochs} epochs, Adam lr {args.lr}, batch '
          f'{args.batch}, seeds {args.seeds}')
    run = fine_tune_pairs(data, pairs, args.seeds, 0, args.epochs, args.evaluate_every,
                          args.source_epochs, targets=list(TARGET_NETS),
                          adapt_epochs=args.adapt_epochs, lr=args.lr, batch=args.batch)
    print('source test top-1: ' + ', '.join(
        [f'{n} {v:.2f}' for n, v in run['sources'].items()]
        + [f'pretrained {n} {v:.2f}' for n, v in run['references'].items()]))
    for name, top1 in run['adapted'].items():
        print(f'  {name} adapted {args.adapt_epochs} epochs: target test top-1 {top1:.2f}')
    tested = evaluated_epochs(args.epochs, args.evaluate_every)

    print(f'\npretraining gap = pretrained - random top-1 (points; mean over seeds +- std); '
          f'goal >= {GAP_GOAL}')
    final_gaps = []
    for target in TARGET_NETS:
        mine = [run['baselines'][seed][target] for seed in args.seeds]
        gaps = np.array([np.subtract(b['pretrained'], b['random']) for b in mine])  # seed x epoch
        final_gaps.append(gaps[:, -1].mean())
        print(f'  {target:<18} random {np.mean([b["random"][-1] for b in mine]):.2f}  pretrained '
              f'{np.mean([b["pretrained"][-1] for b in mine]):.2f}  gap '
              f'{mean_std(list(gaps[:, -1]))};  per tested epoch: ' + '  '.join(
                  f'{e}: {g:+.1f} (random {r:.1f})' for e, g, r in
                  zip(tested, gaps.mean(0), np.mean([b['random'] for b in mine], 0))))
    print(f'  mean gap {np.mean(final_gaps):+.1f}, smallest {min(final_gaps):+.1f}')
    if args.gap_only:
        print(f'total {time.time() - start:.0f} s')
        return run

    figures = [pair_figures(run, s, t) for s, t in pairs]
    sims = [p['similarity'] for p in figures]

    def ratio(pair, method, epoch=-1):  # three decimals: a pair at 0.996 is below 1
        return pair['methods'][method]['curve'][epoch] / pair['random']['curve'][epoch]

    print(f'\nper pair after {args.epochs} epochs, mean over seeds: top-1 (ratio to random '
          '+- std, share of the gain +- std); ceiling = 1 / random, the most any init reaches')
    print(f'{"source -> target":<32}{"sim":>5}{"random":>7}{"pretr.":>7}{"ceil.":>6}'
          + ''.join(f'{m:>30}' for m in METHOD_ORDER) + '   coverage %')
    for p in figures:
        cells = ''.join(f'{m["top1"]:.2f} ({ratio(p, name):.3f}x '
                        f'{mean_and_std(m["share"], m["share_std"])})'.rjust(30)
                        for name, m in p['methods'].items())
        print(f'{p["source"] + " -> " + p["target"]:<32}{p["similarity"]:>5.2f}'
              f'{p["random"]["top1"]:>7.2f}{p["pretrained"]["top1"]:>7.2f}'
              f'{p["random"]["ceiling"] or float("nan"):>6.2f}{cells}   '
              + '/'.join(f'{m["coverage"]:.0f}' for m in p['methods'].values()))

    print(f'\n{"method":<7}{"mean ratio":>11}{"min":>7}{"< 1":>5}{"guarded":>9}{"min":>7}'
          f'{"mean share":>12}{"min":>7}{"< 0":>5}{"guarded":>9}{"gap>=" + str(GAP_GOAL):>9}'
          f'{"min":>7}   per-seed share')
    for m in METHOD_ORDER:
        summary = method_summary(figures, m, args.seeds)
        ratios = [ratio(p, m) for p in figures]
        guarded = [r if sim >= GUARD else 1.0 for r, sim in zip(ratios, sims)]
        shares = [0.0 if sim < GUARD else p['methods'][m]['share']
                  for p, sim in zip(figures, sims)]
        shares = [v for v in shares if v is not None]
        mattering = summary['gap_pairs']
        print(f'{m:<7}{np.mean(ratios):>11.3f}{min(ratios):>7.3f}{sum(r < 1 for r in ratios):>5}'
              f'{np.mean(guarded):>9.3f}{min(guarded):>7.3f}{num(summary["mean_share"]):>12}'
              f'{num(summary["min_share"]):>7}{summary["pairs_below_0"]:>5}'
              f'{num(np.mean(shares) if shares else None):>9}'
              f'{num(mattering["mean_share"]):>9}{num(mattering["min_share"]):>7}   '
              + mean_and_std(summary['seed_share']['mean'], summary['seed_share']['std']))
    print(f'guard: similarity < {GUARD} keeps the random init ({sum(v < GUARD for v in sims)} of '
          f'{len(figures)} pairs); goals: a mean ratio >= 1.6 for the best method and no pair '
          f'below 1; where the gap is >= {GAP_GOAL} points ({mattering["count"]} pairs), a '
          f'mean share >= {SHARE_GOAL} for dpiat and tli with no pair below 0')

    print('mean ratio over the pairs after each tested epoch (how much sooner a transferred '
          'init learns):')
    for m in ['pretrained'] + METHOD_ORDER:
        values = [[(p[m] if m == 'pretrained' else p['methods'][m])['curve'][i]
                   / p['random']['curve'][i] for p in figures] for i in range(len(tested))]
        print(f'  {m:<10} ' + '  '.join(f'epoch {e}: {np.mean(v):.2f}'
                                         for e, v in zip(tested, values)))

    print('\nKendall tau between similarity and the measured ratio:')
    def tau(chosen, method):
        return kendalltau([p['similarity'] for p in chosen],
                          [ratio(p, method) for p in chosen]).statistic

    for m in METHOD_ORDER:
        per_target = [f'{t} {tau([p for p in figures if p["target"] == t], m):+.2f}'
                      for t in TARGET_NETS]
        print(f'  {m:<6} per target: {", ".join(per_target)}; over all {len(figures)} pairs '
              f'{tau(figures, m):+.2f}')
    print(f'total {time.time() - start:.0f} s')
    return run


if __name__ == '__main__':
    main()
