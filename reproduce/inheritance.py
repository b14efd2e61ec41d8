"""Section 3: weight inheritance against random init. The greedy search's allocation (and
ResNet-50's proportions when they have the same size) fine-tuned on the target for the same
epochs, with the same data, schedule and seed, from the source super-network's weights and from
scratch; target test top-1 after every epoch."""
from __future__ import annotations

import numpy as np

from supernet.engine.progress import progress

from .render import allocation, epochs, figure, num, provenance, save, table

KEY = 'inheritance'
TITLE = '3. Weight inheritance vs random init'
FIGURE = 'inheritance.png'


def compute(ctx, report: dict) -> dict:
    greedy = tuple(report['search']['runs'][0]['allocation'])
    default = ctx.target_search[1].backbone.space.default_depths
    children = {greedy: 'greedy'}
    if sum(default) == sum(greedy) and default != greedy:
        children[default] = 'ResNet-50'
    runs = [(depths, inherited) for depths in children for inherited in (True, False)]
    rows = []
    for depths, inherited in progress(runs, 'inheritance: fine-tune'):
        curve = [round(top1, 2) for top1 in ctx.finetune_curve(depths, inherited)]
        rows.append(dict(allocation=list(depths), role=children[depths],
                         init='inherited' if inherited else 'random', curve=curve,
                         top1=curve[-1]))
    gains = []
    for depths in children:
        inherited, scratch = (r for r in rows if r['allocation'] == list(depths))
        gains.append(dict(allocation=list(depths),
                          final_gain=round(inherited['top1'] - scratch['top1'], 2),
                          epochs_ahead=int(np.sum(np.array(inherited['curve'])
                                                  > np.array(scratch['curve'])))))
    return dict(epochs=ctx.settings.child_epochs, rows=rows, gains=gains,
                inherited_wins=all(g['final_gain'] > 0 for g in gains))


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
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. Target test top-1 (%) after each epoch.',
        table(headers, rows),
        f'Inherited minus random init: {gains}.'])
