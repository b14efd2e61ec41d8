"""Which search score predicts what a subnet reaches after fine-tuning: held-out top-1 or held-out
log-likelihood?

    python tools/report.py --out report                     # first: the full report
    python benchmarks/search_score_fidelity.py --report report
    python benchmarks/search_score_fidelity.py --report report --count 10 --seeds 0 1 2

Reuses the report's work folder: per target seed, both scores of every allocation of C blocks on
the search part (``work/seed<k>/per_image.npz``, one pass gives both) and its subnet fine-tunes
(``work/curves``). For each seed, ``--count`` allocations drawn uniformly from all of them (so
the scores spread from worst to best) are fine-tuned from inherited weights as the report
fine-tunes every pick (the subnet config, ``subnet_epochs``, the target's 'train' part) and tested
on the 'test' part; the report's own picks of that seed are added. Printed per seed and as mean
± std over seeds: Kendall τ of each score with the test top-1, over the drawn allocations and
over all fine-tuned ones, and the spread of test top-1 being ranked.
"""
import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from reproduce import FULL, REDUCED
from reproduce.context import ReportContext
from search import kendall_tau, make_budget
from supernet import get_space


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--report', default='report', help='a full tools/report.py output folder')
    parser.add_argument('--count', type=int, default=10,
                        help='allocations drawn per seed (besides the report\'s picks)')
    parser.add_argument('--seeds', type=int, nargs='*', help="target seeds (default: the report's)")
    parser.add_argument('--configs', default='configs', help="the repository's configs/ folder")
    args = parser.parse_args()
    print('command:', shlex.join([sys.executable] + sys.argv))
    out = Path(args.report)
    document = json.loads((out / 'report.json').read_text())
    meta = document['meta']
    settings = (FULL if meta['mode'] == 'full' else REDUCED).replace(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in meta['settings'].items()
           if k != 'mode'})
    ctx = ReportContext(settings, meta['seed'], out / 'work', Path(meta['data']['source']).parent,
                        supernet=meta['supernet']['checkpoint'], config_dir=args.configs)
    ctx.prepare_data()
    seeds = args.seeds or meta['data']['target_seeds']
    space = get_space(meta['space'])
    frontier = make_budget(space, 'blocks', settings.budget, counter=False).frontier()
    picked = {s['seed']: [tuple(r['allocation']) for r in s['picks']]
              for s in document['sections']['search']['seeds']}
    start = time.perf_counter()
    taus = {'top-1': [], 'log-likelihood': []}
    for seed in seeds:
        with np.load(out / 'work' / f'seed{seed}' / 'per_image.npz') as stored:
            assert [tuple(a) for a in stored['allocations']] == frontier
            scores = {'top-1': stored['correct'].mean(1),
                      'log-likelihood': stored['loglik'].mean(1)}
        rng = np.random.default_rng(seed)
        drawn = [frontier[i] for i in sorted(rng.choice(len(frontier), args.count, replace=False))]
        every = sorted(set(drawn) | set(picked.get(seed, [])))
        test = {a: ctx.finetuned_top1(a, seed) for a in every}
        print(f'\nseed {seed}: {len(drawn)} drawn + {len(every) - len(drawn)} report picks, '
              f'fine-tuned {settings.subnet_epochs} epochs; test top-1 {min(test.values()):.2f}'
              f'-{max(test.values()):.2f} %')
        print(f'  {"allocation":>14} | search top-1 | search log-lik | test top-1')
        index = {a: i for i, a in enumerate(frontier)}
        for a in sorted(every, key=lambda a: -test[a]):
            print(f'  {str(a):>14} | {100 * scores["top-1"][index[a]]:12.2f} | '
                  f'{scores["log-likelihood"][index[a]]:14.4f} | {test[a]:.2f}'
                  + ('' if a in drawn else '  (report pick)'))
        for name, values in scores.items():
            drawn_tau = kendall_tau([values[index[a]] for a in drawn], [test[a] for a in drawn])
            all_tau = kendall_tau([values[index[a]] for a in every], [test[a] for a in every])
            taus[name].append(drawn_tau)
            print(f'  Kendall tau({name}, test top-1): drawn {drawn_tau:+.3f}, all fine-tuned '
                  f'{all_tau:+.3f}')
    print(f'\nover {len(seeds)} seeds ({args.count} drawn allocations each), Kendall tau with the '
          'fine-tuned test top-1, mean ± std:')
    for name, values in taus.items():
        defined = [v for v in values if not np.isnan(v)]  # NaN: a constant score (no ranking)
        spread = f' ± {np.std(defined, ddof=1):.3f}' if len(defined) > 1 else ''
        mean = f'{np.mean(defined):+.3f}' if defined else 'undefined'
        print(f'  {name:>15}: {mean}{spread}  (per seed: '
              + ', '.join(f'{v:+.3f}' for v in values) + ')')
    diffs = np.array(taus['log-likelihood']) - np.array(taus['top-1'])
    diffs = diffs[~np.isnan(diffs)]
    if len(diffs) > 1:
        se = np.std(diffs, ddof=1) / np.sqrt(len(diffs))
        verdict = 'a tie' if abs(diffs.mean()) <= se else (
            'log-likelihood ahead' if diffs.mean() > 0 else 'top-1 ahead')
        print(f'  log-likelihood minus top-1 over {len(diffs)} seeds: {diffs.mean():+.3f} ± '
              f'{se:.3f} (SE): {verdict}')
    print(f'seconds: {time.perf_counter() - start:.0f} (fine-tunes the report had not run)')


if __name__ == '__main__':
    main()
