"""The weight-sharing gap after transfer, per training recipe, without the searches: the
default allocation (ResNet-50's 3-4-6-3) cut from the super-network, through the source step
(start ii), fine-tuned on the target, against the same allocation trained alone on the source
(start iii) and fine-tuned alike — the report's headline comparison ``default (ii) − default
(iii)`` and its diagnostic 3a, for several recipes side by side on the same target draws.

    python benchmarks/weight_sharing_gap.py --out runs/gap                 # every arm, 5 seeds
    python benchmarks/weight_sharing_gap.py --out runs/gap --arms today distill_alone --seeds 3
    python benchmarks/weight_sharing_gap.py --out /tmp/gap --reduced       # tiny sizes (tests)

Arms (``ARMS``; each a change of the report's settings, ``reproduce.settings``): ``today`` (the
report's: uniform sampling, a 200-iteration source step), ``source600`` (the source step as long
as training alone, compute-matched to start iii), ``source600_lr02`` (as long and at the
stand-alone recipe's peak learning rate, 0.2: start iii's training from the inherited weights),
``source200_lr02`` (that learning rate for today's 200 iterations), ``distill_alone`` / ``distill_largest`` (the
source step learns from the default trained alone / the super-network's largest subnet as well),
``sandwich`` / ``sandwich_distill`` (the super-network trained with BigNAS's sandwich rule, with
inplace distillation, for ``--sandwich-iters`` iterations: ``benchmarks/supernet_recipes.py``
says how many hold its time to 1.5× today's). Arms that train the same super-network share it;
start iii is trained once and shared by every arm. Everything runs through
``reproduce.context.ReportContext``, the report's own code, in ``--out/<arm>``; a rerun reuses
what a stopped one finished (the report's ``--resume`` files).

Printed per arm: 3a for the default (source top-1, trained alone − inherited), target test top-1
of start ii (mean ± std over the target seeds) and the gap (ii) − (iii) (paired mean ± SE, won /
tied / lost). Goal (the weight-sharing gap closed): (ii) − (iii) ≥ −0.5 points.
"""
import argparse
import json
import os
import time
from pathlib import Path

import torch

from engine.progress import progress
from reproduce.context import ReportContext
from reproduce.searches import mean_std, paired_difference, percent
from reproduce.settings import FULL, REDUCED

ARMS = {
    'today': {},
    'source600': dict(source_finetune_iters=600),
    # the stand-alone network's length and peak LR, from the inherited weights instead of random
    'source600_lr02': dict(source_finetune_iters=600, source_finetune_lr=0.2),
    'source200_lr02': dict(source_finetune_lr=0.2),  # that LR for today's length
    'distill_alone': dict(source_distill='alone'),
    'distill_largest': dict(source_distill='largest'),
    'sandwich': dict(supernet_recipe='sandwich'),
    'sandwich_distill': dict(supernet_recipe='sandwich_distill'),
}
GAP_GOAL = -0.5  # points: (ii) − (iii) at least this


def arm_settings(base, arm: str, sandwich_iters: int):
    changes = dict(ARMS[arm])
    if changes.get('supernet_recipe', 'uniform') != 'uniform':
        changes['supernet_iters'] = sandwich_iters
    return base.replace(**changes)


def share_alone(alone_ctx: ReportContext, ctx: ReportContext):
    """Give ``ctx`` the default trained alone of ``alone_ctx`` (links, not copies; made before
    it is trained, so whichever context asks first trains it into the shared folder)."""
    name = '-'.join(map(str, alone_ctx.default))
    for folder in (ctx.work_dir, alone_ctx.work_dir):
        (folder / 'source').mkdir(parents=True, exist_ok=True)
    (alone_ctx.work_dir / 'source' / f'{name}_alone').mkdir(exist_ok=True)
    for entry in (f'{name}_alone.json', f'{name}_alone'):
        link, target = ctx.work_dir / 'source' / entry, alone_ctx.work_dir / 'source' / entry
        if not link.is_symlink():
            os.symlink(target.absolute(), link)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, help='work folder (reused by a rerun)')
    parser.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS),
                        help='arms to run, in order (default: all)')
    parser.add_argument('--seed', type=int, default=0,
                        help='first seed: super-networks, source models, target seeds')
    parser.add_argument('--seeds', type=int, help='target seeds (default 5; 2 with --reduced)')
    parser.add_argument('--sandwich-iters', type=int, default=260,
                        help='super-network iterations of the sandwich arms (default 260: '
                        "about 1.5x the time of today's 600 uniform ones, by "
                        'benchmarks/supernet_recipes.py)')
    parser.add_argument('--reduced', action='store_true', help='tiny sizes: checks the pipeline')
    parser.add_argument('--data-root', help='demo data (default data/demo, data/demo_reduced '
                        'with --reduced)')
    parser.add_argument('--config-dir', default=str(Path(__file__).resolve().parents[1] /
                                                    'configs'),
                        help='the configs/ folder of a clone (default: this one)')
    args = parser.parse_args(argv)
    base = REDUCED if args.reduced else FULL
    if args.seeds is not None:
        if args.seeds < 2:
            parser.error(f'--seeds {args.seeds}: at least 2 (a paired SE needs two)')
        base = base.replace(seeds=args.seeds)
    if args.sandwich_iters < 1:
        parser.error(f'--sandwich-iters {args.sandwich_iters}: a count >= 1')
    sandwich_iters = 2 if args.reduced else args.sandwich_iters
    data_root = args.data_root or ('data/demo_reduced' if args.reduced else 'data/demo')
    torch.set_num_threads(1)
    out = Path(args.out)

    def context(name, settings, supernet=None):
        ctx = ReportContext(settings, args.seed, out / name, data_root, supernet=supernet,
                            config_dir=args.config_dir)
        ctx.prepare_data()
        return ctx

    alone = context('alone', base)
    default = alone.default
    seeds = alone.seeds
    saved = out / 'gap.json'
    kept = json.loads(saved.read_text())['arms'] if saved.exists() else []
    # the super-networks earlier invocations trained here, by (recipe, iterations)
    supernets = {(info.get('recipe', 'uniform'), info['iterations']): info['checkpoint']
                 for info in (json.loads(p.read_text()) for p in out.glob('*/supernet_info.json'))
                 if info.get('trained_here') and Path(info['checkpoint']).is_file()}
    results = []
    for arm in args.arms:
        start = time.perf_counter()
        settings = arm_settings(base, arm, sandwich_iters)
        key = (settings.supernet_recipe, settings.supernet_iters)
        ctx = context(arm, settings, supernet=supernets.get(key))
        share_alone(alone, ctx)
        supernets.setdefault(key, ctx.supernet)
        with torch.no_grad():
            inherited = percent(ctx.source_evaluator(default))
        ii = [ctx.finetuned_top1(default, seed, init='source')
              for seed in progress(seeds, f'{arm}: start ii on the target')]
        # start iii once the arm's own models exist (an arm distilled from it trains it first)
        alone_top1 = alone.source_model(default, 'alone')['top1']
        alone_target = [alone.finetuned_top1(default, seed, init='alone') for seed in seeds]
        gap = paired_difference([a - b for a, b in zip(ii, alone_target)])
        results.append(dict(arm=arm, changes=ARMS[arm], supernet_recipe=settings.supernet_recipe,
                            supernet_iters=settings.supernet_iters,
                            source_finetune_iters=settings.source_finetune_iters,
                            source_distill=settings.source_distill,
                            source_finetune_lr=settings.source_finetune_lr,
                            source_inherited=inherited, source_alone=alone_top1,
                            source_gap=round(alone_top1 - inherited, 2),
                            source_step_top1=ctx.source_model(default, 'finetuned')['top1'],
                            target_ii=ii, target_ii_summary=mean_std(ii), gap=gap,
                            goal_met=gap['mean'] >= GAP_GOAL,
                            seconds=round(time.perf_counter() - start, 1)))
        # an earlier invocation's other arms stay (same folder: same seeds and start iii)
        arms = [r for r in kept if r['arm'] not in {x['arm'] for x in results}] + results
        saved.write_text(json.dumps(dict(
            seeds=seeds, default=list(default), target_iii=alone_target,
            target_iii_summary=mean_std(alone_target), arms=arms), indent=1))
    print_table(json.loads(saved.read_text()))
    print(f'wrote {saved}')
    return results


def print_table(saved: dict):
    """Every arm of the folder: 3a, start ii on the target, its gap to start iii and, paired per
    seed, its difference to ``today`` (what the arm changed, with its noise)."""
    iii = saved['target_iii_summary']
    arms = saved['arms']
    print(f'default {"-".join(map(str, saved["default"]))}, target seeds {saved["seeds"]}; '
          f'start iii (trained alone): target {iii["mean"]:.2f} ± {iii["std"]:.2f}')
    today = next((r for r in arms if r['arm'] == 'today'), None)
    print(f'{"arm":<18}{"3a gap":>8}{"(ii) target":>16}{"(ii) − (iii)":>16}  verdict'
          f'{"  vs today":>20}')
    for r in arms:
        t, g = r['target_ii_summary'], r['gap']
        versus = ''
        if today is not None and r is not today:
            v = paired_difference([a - b for a, b in zip(r['target_ii'], today['target_ii'])])
            versus = f'{v["mean"]:+.2f} ± {v["se"]:.2f} {v["verdict"]}'
        print(f'{r["arm"]:<18}{r["source_gap"]:>+8.2f}{t["mean"]:>9.2f} ± {t["std"]:<5.2f}'
              f'{g["mean"]:>+9.2f} ± {g["se"]:<5.2f} {g["verdict"]:<7}'
              f'{" met" if r["goal_met"] else "    "}  {versus}')


if __name__ == '__main__':
    main()
