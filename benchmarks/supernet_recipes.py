"""What a super-network training recipe costs per step, against today's (one subnet drawn
uniformly), measured side by side: the demo super-network classifier of
``configs/demo/supernet_resnet_fashion_split.py`` (28 px, batch 64, one torch thread, as the
report trains it) takes full training steps — every subnet of the step forward and backward, one
optimizer update — of each recipe in turn, on the same images.

    python benchmarks/supernet_recipes.py                  # every recipe of engine.recipes.RECIPES
    python benchmarks/supernet_recipes.py --steps 20 --batch 64
    python benchmarks/supernet_recipes.py --recipes uniform sandwich_distill --steps 2 --batch 4

Printed per recipe: median seconds per step, the ratio to ``uniform`` (measured, same run, steps
interleaved so that drift hits all alike), the ratio of multiply-accumulates a step costs
(counted, expected over the recipe's draws: FLOPs are linear in the depths, so a uniform draw
costs the FLOPs at the mean depths), and the iterations that hold a recipe to ``--budget`` times
today's training time (``600 × budget / ratio``, the report's super-network iterations): what the
report's ``--supernet-iters`` takes to hold compute. Goal: a recipe at ≤ 1.5× today's time.
"""
import argparse
import json
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import engine.registry  # noqa: F401  (registers the models, as custom_imports does)
from engine.recipes import RECIPES, step_allocations
from supernet.extract import count_complexity

CONFIG = 'configs/demo/supernet_resnet_fashion_split.py'


def build(recipe: str, seed: int):
    cfg = Config.fromfile(CONFIG).model
    cfg.update(RECIPES[recipe])
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def expected_macs(space, recipe: dict, size: int) -> float:
    """Multiply-accumulates of one step's forward passes, averaged over the recipe's draws.
    FLOPs are linear in each stage's depth, so a uniform draw costs the FLOPs at the mean depths
    (N_i + 1) / 2: the smallest subnet's plus each stage's cost per block times the blocks
    beyond its minimum."""
    def macs(depths):
        return count_complexity(space, depths, input_size=size)['flops']
    low = macs(space.min_depths)
    per_block = [macs(tuple(d + (i == j) for j, d in enumerate(space.min_depths))) - low
                 for i in range(len(space.min_depths))]
    mean = low + sum(c * ((n + 1) / 2 - lo) for c, n, lo in
                     zip(per_block, space.max_depths, space.min_depths))
    plan = dict(recipe.get('train_subnets', {}))
    return (plan.get('largest', False) * macs(space.max_depths) + plan.get('smallest', False)
            * low + plan.get('random', 1) * mean)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--recipes', nargs='+', default=list(RECIPES), choices=list(RECIPES),
                        help='recipes to time (default: all); uniform is always the reference')
    parser.add_argument('--steps', type=int, default=10, help='timed steps per recipe')
    parser.add_argument('--batch', type=int, default=64, help='images per step (the report: 64)')
    parser.add_argument('--budget', type=float, default=1.5,
                        help="training time allowed, as a multiple of today's (default 1.5)")
    parser.add_argument('--iters', type=int, default=600,
                        help="today's super-network iterations (the report's: 600)")
    parser.add_argument('--seed', type=int, default=0, help='initialisation, images and draws')
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch < 1:
        parser.error(f'--steps {args.steps} / --batch {args.batch}: both must be >= 1')
    torch.set_num_threads(1)
    recipes = ['uniform'] + [r for r in args.recipes if r != 'uniform']
    models = {name: build(name, args.seed) for name in recipes}
    space = models['uniform'].backbone.space
    generator = torch.Generator().manual_seed(args.seed)
    images = torch.randint(0, 256, (args.batch, 3, 28, 28), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, 5, (args.batch,), generator=generator)
    times = {name: [] for name in recipes}
    for step in range(args.steps + 1):  # step 0 warms up
        for name, model in models.items():
            model.step_allocations = step_allocations(space, args.seed, step,
                                                      **model.train_subnets)
            data = dict(inputs=list(images),
                        data_samples=[DataSample().set_gt_label(int(y)) for y in labels])
            wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
            start = time.perf_counter()
            model.train_step(data, wrapper)
            if step:
                times[name].append(time.perf_counter() - start)
    base_s = statistics.median(times['uniform'])
    base_macs = expected_macs(space, RECIPES['uniform'], 28)
    rows = []
    print(f'{"recipe":<18}{"s/step":>9}{"measured ×":>12}{"counted ×":>11}'
          f'{"iters at " + str(args.budget) + "×":>14}')
    for name in recipes:
        seconds = statistics.median(times[name])
        ratio = seconds / base_s
        row = dict(recipe=name, seconds_per_step=seconds, measured_ratio=ratio,
                   counted_ratio=expected_macs(space, RECIPES[name], 28) / base_macs,
                   iters_at_budget=int(args.iters * args.budget / ratio))
        rows.append(row)
        print(f'{name:<18}{seconds:>9.3f}{ratio:>12.2f}{row["counted_ratio"]:>11.2f}'
              f'{row["iters_at_budget"]:>14}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(vars(args), rows=rows), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
