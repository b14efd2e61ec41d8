"""Warm start in miniature: a super-network initialised from a stand-alone network trained on the
source, then trained with depth sampling for K steps, against the same super-network trained
from scratch for K and for 4K steps.

    python benchmarks/warm_start.py                                  # K = 300, 3 seeds
    python benchmarks/warm_start.py --steps 150 --seeds 0 1 2 3 4
    python benchmarks/warm_start.py --max-depths 2,2,3,2 --standalone 1,1,2,1 --blocks 5 \\
        --steps 2 --standalone-steps 2 --seeds 0 1 --subnets 2 --source-train 64 \\
        --source-test 32 --batch 8 --recal-images 16            # the reduced form (tests)

Space: the demo's super-network (``resnet_bottleneck_demo``: [8, 10, 36, 14] at 1/8 width, 28 px
stem). Source: the report's source classes (Fashion-MNIST without the tops,
``archdata.SPLIT_SOURCE_CLASSES``), as ``configs/demo/supernet_resnet_fashion_split.py``.
The stand-alone network is the subnet [3, 4, 6, 3] (ResNet-50's depths), trained alone
on the source; ``init_from(..., fill=--fill)`` copies it into the super-network, with its head.
Every arm is scored on the same ``--subnets`` allocations of ``--blocks`` blocks (drawn once):
source test top-1 after re-estimating BatchNorm statistics on training images
(``common.batchnorm.recalibrate_bn``), mean ± std over seeds.

Then, per arm, the search a user runs next: the super-network fine-tuned on the target (the
tops: ``--target-train`` labelled images, ``--target-steps`` steps with depth sampling and a new
head), greedy search (paper 004, Alg. 1) up to ``--blocks`` blocks scored by target top-1 on one
half of ``--target-held-out`` test-split images (BatchNorm re-estimated on the labelled ones),
and the pick, with the weights it inherits from the source super-network, fine-tuned on the
labelled images for ``--subnet-steps`` steps and tested on the other half (which chose nothing).

Goal: warm start at K/4 steps at least as good as scratch at K — here, warm at K
against scratch at 4K (the same ratio). The ratio r this reaches picks the ImageNet recipe's N
(docs/search.md#the-imagenet-recipe).
"""
import argparse
import copy
import dataclasses
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from analysis.smallnets import accuracy, load_transfer_data
from initialize import init_from
from search import greedy_search, make_budget
from supernet import build_backbone, get_space
from supernet.spaces import format_allocation, parse_allocation

SPACE = 'resnet_bottleneck_demo'


class Classifier(nn.Module):
    """A backbone of the space (out_indices=(3,)), global average pooling, a linear head."""

    def __init__(self, backbone: nn.Module, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.space.stages[-1].channels * 4, num_classes)

    def forward(self, x):                                    # (B, 3, 28, 28)
        return self.head(self.backbone(x)[-1].mean((2, 3)))  # (B, classes)


def train_steps(model, x, y, steps, seed, lr, batch, sample_depths):
    """SGD with momentum and cosine decay, batches drawn with ``seed``; a super-network draws a
    depth per stage every step (paper Sec. 3.2) when ``sample_depths``."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1))
    generator = torch.Generator().manual_seed(seed)
    depths = np.random.default_rng(seed)
    model.train()
    for _ in range(steps):
        if sample_depths:
            model.backbone.sample_allocation(depths)
        index = torch.randint(len(x), (batch,), generator=generator)
        loss = F.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model


def subnets_of_size(space, blocks, count, seed=0) -> list:
    """``count`` distinct allocations of ``blocks`` blocks, drawn uniformly among the space's
    allocations by rejection (deterministic in ``seed``)."""
    rng, found = np.random.default_rng(seed), []
    if not sum(space.min_depths) <= blocks <= sum(space.max_depths):
        raise ValueError(f'--blocks {blocks}: allowed {sum(space.min_depths)}..'
                         f'{sum(space.max_depths)} in space {space.name!r}')
    while len(found) < count:
        allocation = space.sample(rng)
        if sum(allocation) == blocks and allocation not in found:
            found.append(allocation)
    return found


def score(model, subnets, data, recal_images) -> list:
    scores = []
    for allocation in subnets:
        model.backbone.set_allocation(allocation)
        scores.append(accuracy(model, data.source_test_x, data.source_test_y,
                               recalibrate_on=recal_images))
    return scores


def greedy_pick_top1(supernet, space, data, args, seed) -> tuple:
    """``(pick, target test top-1)``: the source super-network fine-tuned on the target, greedy
    search on the held-out 'search' half, the pick fine-tuned from its inherited weights and
    tested on the other half."""
    search_x, search_y = data.target_test_x[0::2], data.target_test_y[0::2]
    test_x, test_y = data.target_test_x[1::2], data.target_test_y[1::2]
    torch.manual_seed(seed)
    on_target = Classifier(copy.deepcopy(supernet.backbone), data.target_classes)
    train_steps(on_target, data.target_x, data.target_y, args.target_steps, seed, args.lr,
                args.batch, sample_depths=True)

    def evaluate(allocation):
        on_target.backbone.set_allocation(allocation)
        return accuracy(on_target, search_x, search_y, recalibrate_on=data.target_x)

    with torch.no_grad():
        pick = greedy_search(space, make_budget(space, 'blocks', args.blocks, counter=False),
                             evaluate, counter=False, seed=seed).best.allocation
    torch.manual_seed(seed)
    subnet = Classifier(supernet.backbone.get_subnet(pick), data.target_classes)
    train_steps(subnet, data.target_x, data.target_y, args.subnet_steps, seed, args.lr, args.batch,
                sample_depths=False)
    return pick, accuracy(subnet, test_x, test_y, recalibrate_on=data.target_x)


def benchmark_space(max_depths=None):
    """The demo space, or (for the reduced form) the same stages with other maximum depths."""
    space = get_space(SPACE)
    if max_depths is None:
        return space
    space.validate(max_depths)
    stages = tuple(dataclasses.replace(s, max_depth=m, default_depth=min(s.default_depth, m))
                   for s, m in zip(space.stages, max_depths))
    return space.replace(name=f'{SPACE}_max{format_allocation(max_depths)}', stages=stages)


def run_seed(seed, args, space, data, subnets) -> tuple:
    """``(source top-1 of every subnet per arm, (greedy pick, its target test top-1) per arm)``
    for one seed."""
    recal = data.source_x[:args.recal_images]
    torch.manual_seed(seed)
    standalone = Classifier(build_backbone(space, args.standalone, out_indices=(3,)),
                            data.source_classes)
    train_steps(standalone, data.source_x, data.source_y, args.standalone_steps, seed, args.lr,
                args.batch, sample_depths=False)
    arms, picks = {}, {}
    for arm, steps, warm in (('warm K', args.steps, True), ('scratch K', args.steps, False),
                             ('scratch 4K', 4 * args.steps, False)):
        torch.manual_seed(seed)
        supernet = Classifier(build_backbone(space, out_indices=(3,)), data.source_classes)
        if warm:
            started = init_from(space, standalone.backbone, fill=args.fill, seed=seed)
            supernet.backbone.load_state_dict(started.model.state_dict())
            supernet.head.load_state_dict(standalone.head.state_dict())
        start = time.perf_counter()
        train_steps(supernet, data.source_x, data.source_y, steps, seed, args.lr, args.batch,
                    sample_depths=True)
        arms[arm] = score(supernet, subnets, data, recal)
        trained = time.perf_counter() - start
        picks[arm] = greedy_pick_top1(supernet, space, data, args, seed)
        print(f'  seed {seed} {arm:10s} ({steps} steps, {trained:.0f} s): source top-1 mean '
              f'{statistics.mean(arms[arm]):.2%}; greedy pick {format_allocation(picks[arm][0])}'
              f' target test top-1 {picks[arm][1]:.2%} ({time.perf_counter() - start:.0f} s)',
              flush=True)
    return arms, picks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=300, help='K')
    parser.add_argument('--standalone', type=parse_allocation, default=(3, 4, 6, 3),
                        help="the stand-alone network's depths (default: ResNet-50's)")
    parser.add_argument('--max-depths', type=parse_allocation,
                        help="the super-network's (default: the demo space's [8, 10, 36, 14])")
    parser.add_argument('--standalone-steps', type=int, default=1200)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--subnets', type=int, default=8)
    parser.add_argument('--blocks', type=int, default=16, help='size of the scored subnets')
    parser.add_argument('--fill', default='identity', choices=('identity', 'repeat'))
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--source-train', type=int, default=20000)
    parser.add_argument('--source-test', type=int, default=2000)
    parser.add_argument('--recal-images', type=int, default=1000)
    parser.add_argument('--target-train', type=int, default=150,
                        help='labelled target images (the report\'s 30 per top)')
    parser.add_argument('--target-held-out', type=int, default=4000,
                        help='target test-split images: half to search on, half to test the '
                        'pick (multiple of 10)')
    parser.add_argument('--target-steps', type=int, default=120,
                        help='steps of the super-network on the target before the search')
    parser.add_argument('--subnet-steps', type=int, default=120,
                        help="steps of the greedy pick's fine-tune on the target")
    args = parser.parse_args(argv)
    for name in ('target_train', 'target_held_out'):
        multiple = 10 if name == 'target_held_out' else 5
        if getattr(args, name) <= 0 or getattr(args, name) % multiple:
            parser.error(f'--{name.replace("_", "-")} {getattr(args, name)}: a positive '
                         f'multiple of {multiple} (the same count from each of the five tops)')
    space = benchmark_space(args.max_depths)
    space.validate(args.standalone)
    subnets = subnets_of_size(space, args.blocks, args.subnets)
    data = load_transfer_data(args.source_train, args.target_train, args.target_held_out, 28,
                              source_test=args.source_test, target='tops')
    print(f'subnets of {args.blocks} blocks: {", ".join(map(format_allocation, subnets))}')
    runs = [run_seed(seed, args, space, data, subnets) for seed in args.seeds]
    means = {arm: [statistics.mean(arms[arm]) for arms, _ in runs] for arm in runs[0][0]}
    targets = {arm: [picks[arm][1] for _, picks in runs] for arm in runs[0][1]}
    print(f'source top-1, mean over {len(subnets)} subnets of {args.blocks} blocks (BN '
          f're-estimated), mean ± std over {len(args.seeds)} seeds; K = {args.steps}:')
    for arm, values in means.items():
        print(f'  {arm:10s} {mean_std(values)}')
    print(f"greedy pick's target test top-1 ({args.target_held_out // 2} images), mean ± std "
          f'over {len(args.seeds)} seeds:')
    for arm, values in targets.items():
        print(f'  {arm:10s} {mean_std(values)}  (picks: '
              f'{", ".join(format_allocation(picks[arm][0]) for _, picks in runs)})')
    met = statistics.mean(means['warm K']) >= statistics.mean(means['scratch 4K'])
    print(f'goal (warm at K >= scratch at 4K, i.e. warm at K/4 >= scratch at K): '
          f'{"met" if met else "not met"}')
    return means, targets


def mean_std(values) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.2%} ± {spread:.2%}'


if __name__ == '__main__':
    main()
