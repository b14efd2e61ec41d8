"""Cost of the super-network's dynamic depth: one forward+backward of the super-network at a
sampled allocation vs the subnet backbone of the same allocation (same weights), side by side.

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


def step_seconds(model, images, autocast_dtype=None):
    """Seconds of one forward+backward (CUDA work awaited), under autocast when a dtype is given."""
    model.zero_grad(set_to_none=True)
    cuda = images.is_cuda
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.autocast(images.device.type, dtype=autocast_dtype,
                        enabled=autocast_dtype is not None):
        loss = sum(out.float().mean() for out in model(images))
    loss.backward()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(space_name: str, batch: int, size: int, repeats: int, seed: int = 0,
            allocation=None, device='cpu', autocast_dtype=None) -> dict:
    """Median step seconds of the super-network at ``allocation`` (default: sampled with
    ``seed``) and of its subnet (the same weights), alternating so that drift hits both
    alike; ``ratio`` is super-network / subnet."""
    torch.manual_seed(seed)
    supernet = build_backbone(get_space(space_name)).to(device).train()
    if allocation:
        supernet.set_allocation(tuple(allocation))
    else:
        supernet.sample_allocation(np.random.default_rng(seed))
    static = supernet.get_subnet().to(device).train()
    images = torch.randn(batch, 3, size, size, device=device)
    times = {'supernet': [], 'static': []}
    for model in (supernet, static):  # warm-up (cuDNN picks its kernels here)
        step_seconds(model, images, autocast_dtype)
    for _ in range(repeats):
        for name, model in (('supernet', supernet), ('static', static)):
            times[name].append(step_seconds(model, images, autocast_dtype))
    medians = {k: statistics.median(v) for k, v in times.items()}
    return dict(allocation=list(supernet.allocation), batch=batch, size=size, repeats=repeats,
                supernet_s=medians['supernet'], static_s=medians['static'],
                ratio=medians['supernet'] / medians['static'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--space', default='resnet_bottleneck')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=160, help='input image side (px)')
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--allocation', default=None,
                        help='comma-separated depths; default: sampled with --seed')
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda' (scripts/gpu_smoke.sh "
                        'measures it there at 224 px)')
    args = parser.parse_args()
    allocation = tuple(int(d) for d in args.allocation.split(',')) if args.allocation else None
    print(f'space {args.space}, batch {args.batch}x3x{args.size}x{args.size} on {args.device}, '
          f'{torch.get_num_threads()} threads')
    result = measure(args.space, args.batch, args.size, args.repeats, args.seed, allocation,
                     args.device)
    print(f"allocation {tuple(result['allocation'])}")
    for name in ('supernet', 'static'):
        print(f"{name:>9}: median {result[name + '_s'] * 1000:8.1f} ms over {args.repeats} steps")
    print(f"ratio supernet/static = {result['ratio']:.3f} (goal <= 1.05)")


if __name__ == '__main__':
    main()
