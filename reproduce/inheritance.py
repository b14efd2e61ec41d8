"""Section 3: weight inheritance against random init. The greedy search's allocation (and
ResNet-50's proportions when they have the same size) fine-tuned on the target for the same
epochs, with the same data, schedule and seed, from the source super-network's weights and from
scratch (:func:`inherited_vs_random`, which ``benchmarks/inherit_vs_scratch.py`` runs too):
target test top-1 after every epoch (first target seed), and the final gap of the greedy pick on
every target seed (the headroom the target leaves for inheritance; the goal is a gap of >= 10
points with random init <= 75 %, so that inheritance has room to show)."""
from __future__ import annotations

import numpy as np

from engine.progress import progress

from .render import allocation, epochs, figure, num, provenance, save, table

KEY = 'inheritance'
TITLE = '3. Weight inheritance vs random init'
FIGURE = 'inheritance.png'
GAP_GOAL, RANDOM_CEILING = 10.0, 75.0


def compute(ctx, report: dict) -> dict:
    seeds = report['search']['seeds']
    greedy = tuple(next(r for r in seeds[0]['picks'] if r['method'] == 'greedy')['allocation'])
    default = ctx.target().space.default_depths
    subnets = {greedy: 'greedy'}
    if sum(default) == sum(greedy) and default != greedy:
        subnets[default] = 'ResNet-50'
    rows, gains = inherited_vs_random(subnets, ctx.finetune_curve)
    per_seed = []  # each seed's greedy pick: inherited (section 2's run) vs random init
    for seed in progress(seeds, 'inheritance: every seed'):
        pick = next(r for r in seed['picks'] if r['method'] == 'greedy')
        scratch = ctx.finetuned_top1(pick['allocation'], seed['seed'], init='scratch')
        per_seed.append(dict(seed=seed['seed'], allocation=pick['allocation'],
                             inherited=pick['test_top1'], random=scratch,
                             gap=round(pick['test_top1'] - scratch, 2)))
    gaps = [r['gap'] for r in per_seed]
    randoms = [r['random'] for r in per_seed]
    return dict(epochs=ctx.settings.subnet_epochs, rows=rows, gains=gains, per_seed=per_seed,
                mean_gap=round(float(np.mean(gaps)), 2),
                std_gap=round(float(np.std(gaps, ddof=1)), 2) if len(gaps) > 1 else None,
                mean_random=round(float(np.mean(randoms)), 2),
                gap_goal=GAP_GOAL, random_ceiling=RANDOM_CEILING,
                headroom_met=bool(np.mean(gaps) >= GAP_GOAL
                                  and np.mean(randoms) <= RANDOM_CEILING),
                inherited_wins=all(g['final_gain'] > 0 for g in gains))


def inherited_vs_random(subnets: dict, finetune_curve) -> tuple:
    """``(rows, gains)``: every allocation of ``subnets`` (allocation -> its role) fine-tuned
    from inherited weights and from random init by ``finetune_curve(allocation, init)`` (init
    ``'inherited'`` or ``'scratch'``; the top-1 after every epoch), a row per curve, and per
    allocation the final gain of inheriting and the epochs it was ahead after."""
    runs = [(depths, inherited) for depths in subnets for inherited in (True, False)]
    rows = []
    for depths, inherited in progress(runs, 'inheritance: fine-tune'):
        curve = finetune_curve(depths, 'inherited' if inherited else 'scratch')
        rows.append(dict(allocation=list(depths), role=subnets[depths],
                         init='inherited' if inherited else 'random', curve=curve,
                         top1=curve[-1]))
    gains = []
    for depths in subnets:
        inherited, scratch = (r for r in rows if r['allocation'] == list(depths))
        gains.append(dict(allocation=list(depths),
                          final_gain=round(inherited['top1'] - scratch['top1'], 2),
                          epochs_ahead=int(np.sum(np.array(inherited['curve'])
                                                  > np.array(scratch['curve'])))))
    return rows, gains


def plot(data: dict, path):
    fig, ax = figure(size=(7, 4.5))
    xs = np.arange(1, data['epochs'] + 1)
    for k, row in enumerate(data['rows']):
        ax.plot(xs, row['curve'], '-o' if row['init'] == 'inherited' else '--s',
                color=f'C{k // 2}', label=f'{allocation(row["allocation"])} ({row["role"]}), '
                f'{row["init"]}')
    ax.set_xlabel('fine-tuning epochs on the target')
    ax.set_ylabel('target test top-1 (%)')
    ax.set_title('Inherited from the super-network vs random init, same schedule and seed')
    ax.set_xticks(xs)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path, data)


def markdown(data: dict) -> str:
    headers = ['allocation', 'init'] + [f'epoch {e}' for e in range(1, data['epochs'] + 1)]
    rows = [[f'{allocation(r["allocation"])} ({r["role"]})', r['init']]
            + [num(top1) for top1 in r['curve']] for r in data['rows']]
    gains = '; '.join(
        f'{allocation(g["allocation"])}: {num(g["final_gain"], sign=True)} points after '
        f'{epochs(data["epochs"])}, ahead after {g["epochs_ahead"]} of {epochs(data["epochs"])}'
        for g in data['gains'])
    seeds = [[r['seed'], allocation(r['allocation']), num(r['inherited']), num(r['random']),
              num(r['gap'], sign=True)] for r in data['per_seed']]
    met = 'met' if data['headroom_met'] else 'missed'
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. Target test top-1 (%) after each epoch (first seed).',
        table(headers, rows),
        f'Inherited minus random init: {gains}.',
        'The greedy pick of every target seed, fine-tuned once more from random init:',
        table(['seed', 'greedy pick', 'inherited', 'random init', 'gap'], seeds),
        f'Mean gap {num(data["mean_gap"], sign=True)} ± {num(data["std_gap"])} points, random '
        f'init at {num(data["mean_random"])}% on average: the headroom goal (gap ≥ '
        f'{num(data["gap_goal"], 1)} points, random init ≤ {num(data["random_ceiling"], 1)}%) '
        f'is {met}.'])
