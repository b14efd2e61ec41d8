"""Greedy block search against exhaustive, random and evolutionary search at equal evaluations,
and the greedy search with and without prefix caching — one run, one evaluator.

    python benchmarks/greedy_vs_exhaustive.py                     # after the README's demo chain
    python benchmarks/greedy_vs_exhaustive.py --budget 14 --checkpoint work_dirs/.../finetuned.pth

The evaluator is the demo search's: the demo super-network fine-tuned on the digits
(``work_dirs/search_digits/finetuned.pth``, written by tools/greedy_search.py), BatchNorm
recalibration and top-1 on the held-out split. Exhaustive search scores every allocation of
``--budget`` blocks, which ranks what the other searches choose.
Goals: greedy in the top 5% with <= 10% of exhaustive's evaluations; caching >= 1.5x faster.
"""
import argparse
import time

import numpy as np
import torch

from search import evolution_search, exhaustive_search, greedy_search, make_budget, random_search
from search.engine import evaluator_from_config


def rank_of(score, all_scores):
    """1 + the number of allocations scoring strictly better."""
    return 1 + int(np.sum(np.asarray(all_scores) > score))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/demo/search_digits.py')
    parser.add_argument('--checkpoint', default='work_dirs/search_digits/finetuned.pth')
    parser.add_argument('--budget', type=int, default=16, help='total blocks C')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_grad_enabled(False)

    evaluate = evaluator_from_config(args.config, args.checkpoint,
                                     work_dir='work_dirs/bench_greedy_vs_exhaustive')
    space = evaluate.backbone.space
    budget = make_budget(space, 'blocks', args.budget, counter=False)
    frontier = budget.frontier()
    print(f'space {space.name}, budget C={args.budget}: {len(frontier)} allocations')

    exhaustive, t_exhaustive = timed(lambda: exhaustive_search(
        space, budget, evaluate, max_evaluations=len(frontier), counter=False))
    scores = [r.score for r in exhaustive.history]
    evaluate.prefix_cache = True
    greedy, t_cached = timed(lambda: greedy_search(space, budget, evaluate, counter=False))
    evaluate.prefix_cache = False
    uncached, t_uncached = timed(lambda: greedy_search(space, budget, evaluate, counter=False))
    assert [r.allocation for r in greedy.chain] == [r.allocation for r in uncached.chain]
    same = max(abs(a.score - b.score) for a, b in zip(greedy.history, uncached.history))
    n = len(greedy.history)
    random = random_search(space, budget, evaluate, n, seed=args.seed, counter=False)
    evolution = evolution_search(space, budget, evaluate, n, seed=args.seed, counter=False)

    print(f'best of all {len(frontier)}: {exhaustive.best.allocation} '
          f'score {exhaustive.best.score:.4f}')
    print(f'{"method":>10} | {"evaluations":>11} | {"chosen":>16} | {"score":>6} | rank (top %)')
    for name, result in (('exhaustive', exhaustive), ('greedy', greedy), ('random', random),
                         ('evolution', evolution)):
        rank = rank_of(result.best.score, scores)
        print(f'{name:>10} | {len(result.history):>11} | {str(result.best.allocation):>16} | '
              f'{result.best.score:.4f} | {rank:>4} ({100 * rank / len(scores):.1f}%)')
    print(f'greedy evaluations / exhaustive: {n}/{len(frontier)} = {n / len(frontier):.1%}')
    print(f'greedy search wall time: {t_cached:.1f} s with prefix caching, {t_uncached:.1f} s '
          f'without ({t_uncached / t_cached:.2f}x); same chain, max score difference {same:.1e}')
    print(f'exhaustive search wall time: {t_exhaustive:.1f} s')


if __name__ == '__main__':
    main()
