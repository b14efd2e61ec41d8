"""Greedy block search against exhaustive, random and evolutionary search at equal evaluations,
and the greedy search with and without prefix caching — one run, one evaluator.

    python benchmarks/greedy_vs_exhaustive.py                     # after the README's demo chain
    python benchmarks/greedy_vs_exhaustive.py --budget 14 --checkpoint work_dirs/.../finetuned.pth

The report's search study (:func:`reproduce.searches.search_every_way`) with the demo search's
evaluator: the demo super-network fine-tuned on the digits (``work_dirs/search_digits/
finetuned.pth``, written by tools/greedy_search.py), BatchNorm recalibration and the config's
metric on the held-out split. Every allocation of ``--budget`` blocks is scored once (the
exhaustive search), which ranks what the other searches choose; they read those scores. Then
greedy searches again without them, with and without prefix caching, to time the cache.
Goals: greedy in the top 5% with <= 10% of exhaustive's evaluations; caching >= 1.5x faster.
"""
import argparse
import tempfile
import time

import torch

from engine.evaluators import evaluator_from_config
from reproduce.searches import METHODS, SCORE_NAMES, search_every_way, search_rank
from search import greedy_search, make_budget


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/demo/search_digits.py')
    parser.add_argument('--checkpoint', default='work_dirs/search_digits/finetuned.pth')
    parser.add_argument('--budget', type=int, default=19,
                        help='total blocks C (19: the smallest C where greedy needs <= 10%% of '
                        "exhaustive's evaluations in this space)")
    parser.add_argument('--seed', type=int, default=0, help='of the searches (ties, draws)')
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)

    evaluate = evaluator_from_config(args.config, args.checkpoint,
                                     work_dir='work_dirs/bench_greedy_vs_exhaustive')
    space = evaluate.backbone.space
    budget = make_budget(space, 'blocks', args.budget, counter=False)
    with tempfile.TemporaryDirectory() as scratch:  # a fresh search log: nothing reused
        found = search_every_way(space, budget, evaluate, evaluate.metric, scratch, args.seed)
    frontier, scores = found['frontier'], found['scores']
    print(f'space {space.name}, budget C={args.budget}: {len(frontier)} allocations, scored by '
          f'{SCORE_NAMES[evaluate.metric]}')
    print(f'{"method":>16} | {"evaluations":>11} | {"chosen":>16} | {"score":>8} | rank (top %)')
    for name in METHODS:
        pick = found['picks'][name]
        rank = search_rank(scores, frontier.index(pick))
        print(f'{name:>16} | {found["evaluations"][name]:>11} | {pick!s:>16} | '
              f'{scores[frontier.index(pick)]:8.4f} | {rank:>4} ({100 * rank / len(scores):.1f}%)')
    n = found['evaluations']['greedy']
    print(f'greedy evaluations / exhaustive: {n}/{len(frontier)} = {n / len(frontier):.1%}')
    print(f'exhaustive search (every allocation, shared prefixes run once) wall time: '
          f'{found["seconds"]["scoring"]:.1f} s')

    evaluate.prefix_cache = True
    cached, t_cached = timed(lambda: greedy_search(space, budget, evaluate, counter=False,
                                                   seed=args.seed))
    evaluate.prefix_cache = False
    uncached, t_uncached = timed(lambda: greedy_search(space, budget, evaluate, counter=False,
                                                       seed=args.seed))
    assert [r.allocation for r in cached.chain] == [r.allocation for r in uncached.chain]
    same = max(abs(a.score - b.score) for a, b in zip(cached.history, uncached.history))
    print(f'greedy search wall time: {t_cached:.1f} s with prefix caching, {t_uncached:.1f} s '
          f'without ({t_uncached / t_cached:.2f}x); same chain, max score difference {same:.1e}')
    return found


if __name__ == '__main__':
    main()
