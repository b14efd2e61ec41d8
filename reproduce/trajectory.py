"""Section 6: what the greedy search did, step by step: every candidate it scored at each size,
the chain of best allocations it kept, and how the blocks were spread over the stages."""
from __future__ import annotations

import numpy as np

from .render import allocation, figure, num, provenance, save, table
from .searches import percent

KEY = 'trajectory'
TITLE = '6. Search trajectory'
FIGURE = 'trajectory.png'


def compute(ctx, report: dict) -> dict:
    greedy = ctx.greedy  # set by the search section, which runs first
    steps = {}
    for record in greedy.history:
        steps.setdefault(record.step, []).append(
            dict(allocation=list(record.allocation), top1=percent(record.score)))
    chain = [dict(size=sum(r.allocation), allocation=list(r.allocation),
                  top1=None if r.score is None else percent(r.score)) for r in greedy.chain]
    stage_names = [s.name for s in ctx.target_search[1].backbone.space.searched]
    return dict(space=greedy.space, budget=greedy.budget['limit'], stages=stage_names,
                chain=chain, steps=[dict(step=k, size=chain[k]['size'], candidates=v)
                                    for k, v in sorted(steps.items())],
                optimum=report['search']['optimum'])


def plot(data: dict, path):
    fig, (top, bottom) = figure(2, 1, size=(8, 7), sharex=True,
                                gridspec_kw=dict(height_ratios=(3, 2)))
    for step in data['steps']:
        ys = [c['top1'] for c in step['candidates']]
        top.scatter([step['size']] * len(ys), ys, color='0.6', s=18, zorder=2,
                    label='candidates' if step['step'] == 1 else None)
    scored = [c for c in data['chain'] if c['top1'] is not None]
    top.plot([c['size'] for c in scored], [c['top1'] for c in scored], '-o', color='C3',
             zorder=3, label='chain (kept)')
    for c in scored:
        top.annotate(allocation(c['allocation']), (c['size'], c['top1']), fontsize=7,
                     textcoords='offset points', xytext=(0, 7), ha='center', rotation=35)
    optimum = data['optimum']
    top.scatter([sum(optimum['allocation'])], [optimum['top1']], marker='*', s=150, color='k',
                zorder=4, label=f'exhaustive optimum ({allocation(optimum["allocation"])})')
    top.set_ylabel('held-out top-1 (%)')
    top.set_title(f'Greedy search on {data["space"]}: each step adds the block that helps most')
    top.legend(fontsize=8, loc='lower right')
    top.grid(alpha=0.3)
    top.margins(y=0.15)

    sizes = [c['size'] for c in data['chain']]
    depths = np.array([c['allocation'] for c in data['chain']])
    bottom_of = np.zeros(len(sizes))
    for k, name in enumerate(data['stages']):
        bottom.bar(sizes, depths[:, k], bottom=bottom_of, label=name, color=f'C{k}', alpha=0.8)
        bottom_of += depths[:, k]
    bottom.set_xlabel('blocks in the allocation (size)')
    bottom.set_ylabel('blocks per stage')
    bottom.legend(fontsize=8, ncol=len(data['stages']), loc='upper left')
    bottom.set_xticks(sizes)
    return save(fig, path, data)


def markdown(data: dict) -> str:
    rows = []
    for step in data['steps']:
        kept = data['chain'][step['step']]
        others = ', '.join(f'{allocation(c["allocation"])} {num(c["top1"])}'
                           for c in step['candidates'] if c['allocation'] != kept['allocation'])
        rows.append([step['size'], allocation(kept['allocation']), num(kept['top1']),
                     others or '–'])
    chain = ' → '.join(allocation(c['allocation']) for c in data['chain'])
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. Chain: {chain}.',
        table(['size', 'kept', 'held-out top-1', 'other candidates (held-out top-1)'], rows)])
