"""Cost of the super-network's dynamic depth: one forward+backward of the super-network at a
sampled allocation vs the static backbone of the same allocation (same weights), side by side.

    python benchmarks/supernet_step.py                       # ResNet bottleneck space
    python benchmarks/supernet_step.py --space mobilenet_v2 --batch 8

Goal: ratio ≤ 1.05. Steps alternate between the two models so drift hits both alike; the
figure is the ratio of medians.
"""
import argparse
import statistics
import time

import numpy as np
import torch

from supernet import build_backbone, get_space


def step_seconds(model, images):
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    sum(out.mean() for out in model(images)).backward()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--space', default='resnet_bottleneck')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=160, help='input image side (px)')
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--allocation', default=None,
                        help='comma-separated depths; default: sampled with --seed')
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    space = get_space(args.space)
    supernet = build_backbone(space).train()
    if args.allocation:
        supernet.set_allocation(tuple(int(d) for d in args.allocation.split(',')))
    else:
        supernet.sample_allocation(np.random.default_rng(args.seed))
    static = supernet.get_subnet().train()
    images = torch.randn(args.batch, 3, args.size, args.size)
    print(f'space {space.name}, allocation {supernet.allocation}, batch {args.batch}x3x'
          f'{args.size}x{args.size}, {torch.get_num_threads()} threads')

    times = {'supernet': [], 'static': []}
    for model in (supernet, static):  # warm-up
        step_seconds(model, images)
    for _ in range(args.repeats):
        times['supernet'].append(step_seconds(supernet, images))
        times['static'].append(step_seconds(static, images))
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, seconds in medians.items():
        print(f'{name:>9}: median {seconds * 1000:8.1f} ms over {args.repeats} steps')
    ratio = medians['supernet'] / medians['static']
    print(f'ratio supernet/static = {ratio:.3f} (goal <= 1.05)')


if __name__ == '__main__':
    main()
