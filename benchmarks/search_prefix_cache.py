"""Prefix caching in the greedy search: one greedy step (all ns subnets of a parent, each with BN
recalibration + validation) evaluated with and without the shared-prefix cache, side by side.

    python benchmarks/search_prefix_cache.py                        # ResNet basic, width 0.25
    python benchmarks/search_prefix_cache.py --space mobilenet_v2 --size 32
    python benchmarks/search_prefix_cache.py --parent 2,3,4,2
    python benchmarks/search_prefix_cache.py --frontier 10           # the exhaustive search

Real images: scikit-learn digits upsampled to --size. The scores of both paths are compared too
(they must agree). Steps alternate between the two paths so load changes hit both alike; the
figure is the ratio of medians.
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archdata import load_digits
from search import ClassificationEvaluator, make_budget, split_train_val
from supernet import build_backbone, get_space, parse_allocation


class Classifier(nn.Module):
    def __init__(self, backbone, channels, num_classes=10):
        super().__init__()
        self.backbone, self.fc = backbone, nn.Linear(channels, num_classes)

    def head(self, feats):
        return self.fc(feats[-1].mean((2, 3)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--space', default='resnet_basic')
    parser.add_argument('--width', type=float, default=0.25)
    parser.add_argument('--size', type=int, default=32, help='image side (px)')
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--recal-batches', type=int, default=4)
    parser.add_argument('--val', type=int, default=256, help='validation images')
    parser.add_argument('--parent', default=None, help='comma-separated depths; default 1,..,1')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--frontier', type=int, default=None,
                        help='instead of one greedy step: every allocation of this many blocks '
                             '(the exhaustive search), evaluate_all (every shared block prefix '
                             'once) against grouping by stages 1-2 through evaluate_step')
    args = parser.parse_args()

    base = get_space(args.space)
    space = base.scaled(args.width, small_input=True if base.family == 'resnet' else None)
    torch.manual_seed(0)
    backbone = build_backbone(space)
    with torch.no_grad():
        channels = backbone.eval()(torch.zeros(1, 3, args.size, args.size))[-1].shape[1]
    model = Classifier(backbone, channels)

    images, labels = load_digits()
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)
    x = F.interpolate(x, size=args.size, mode='bilinear', align_corners=False).repeat(1, 3, 1, 1)
    y = torch.from_numpy(labels)
    train, val = split_train_val(labels, val_fraction=0.2, seed=0)
    train_batches = list(zip(x[train].split(args.batch), y[train].split(args.batch)))
    val = val[:args.val]
    val_batches = list(zip(x[val].split(args.batch), y[val].split(args.batch)))
    evaluators = {
        'cached': ClassificationEvaluator(model, train_batches, val_batches, args.recal_batches),
        'uncached': ClassificationEvaluator(model, train_batches, val_batches, args.recal_batches,
                                            prefix_cache=False)}
    if args.frontier is not None:
        return compare_frontier(space, evaluators['cached'], args.frontier, args.repeats)
    parent = parse_allocation(args.parent) if args.parent else space.min_depths
    parent = space.validate(parent)
    subnets = [tuple(d + (i == k) for i, d in enumerate(parent)) for k in range(len(parent))
                if parent[k] < space.max_depths[k]]
    print(f'space {space.name}, parent {parent}, {len(subnets)} subnets, images '
          f'{args.size}px, {args.recal_batches}x{args.batch} recalibration + {len(val)} '
          f'validation images, {torch.get_num_threads()} threads')

    def step(name):
        start = time.perf_counter()
        scores = dict(evaluators[name].evaluate_step(parent, subnets))
        return time.perf_counter() - start, scores

    for name in evaluators:  # warm-up
        step(name)
    times = {name: [] for name in evaluators}
    scores = {}
    for _ in range(args.repeats):
        for name in evaluators:
            seconds, scores[name] = step(name)
            times[name].append(seconds)
    same = all(np.isclose(scores['cached'][c], scores['uncached'][c]) for c in subnets)
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, seconds in medians.items():
        print(f'{name:>9}: median {seconds:7.3f} s per step over {args.repeats} steps')
    print(f'speed-up uncached/cached = {medians["uncached"] / medians["cached"]:.2f}, '
          f'scores equal: {same}')


def compare_frontier(space, evaluator, blocks: int, repeats: int):
    frontier = make_budget(space, 'blocks', blocks, counter=False).frontier()
    groups = {}
    for a in frontier:
        groups.setdefault(a[:2] + (1,) * (len(a) - 2), []).append(a)

    def by_stages_1_2():
        scores = {}
        for parent, subnets in groups.items():
            if subnets == [parent]:
                scores[parent] = evaluator(parent)
            else:
                scores.update(evaluator.evaluate_step(parent, subnets))
        return scores

    paths = {'evaluate_all': lambda: dict(evaluator.evaluate_all(frontier)),
             'stages 1-2 shared': by_stages_1_2}
    print(f'space {space.name}: all {len(frontier)} allocations of {blocks} blocks, '
          f'{torch.get_num_threads()} threads; the two paths alternate {repeats} times')
    times, scores = {k: [] for k in paths}, {}
    for _ in range(repeats):
        for name, run in paths.items():
            start = time.perf_counter()
            with torch.no_grad():
                scores[name] = run()
            times[name].append(time.perf_counter() - start)
    same = all(np.isclose(scores['evaluate_all'][a], scores['stages 1-2 shared'][a])
               for a in frontier)
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, seconds in medians.items():
        print(f'{name:>18}: median {seconds:7.2f} s ({seconds / len(frontier):.3f} s per '
              'allocation)')
    print(f'speed-up = {medians["stages 1-2 shared"] / medians["evaluate_all"]:.2f}, scores '
          f'equal: {same}')


if __name__ == '__main__':
    main()
