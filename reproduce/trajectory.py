"""Section 6: what the greedy search did, step by step: every candidate it scored at each size,
the chain of best allocations it kept, and how the blocks were spread over the stages."""
from __future__ import annotations

import numpy as np

from .render import allocation, figure, num, provenance, save, table
from .searches import shown

KEY = 'trajectory'
TITLE = '6. Search trajectory'
FIGURE = 'trajectory.png'


def compute(ctx, report: dict) -> dict:
    greedy = ctx.greedy  # the first seed's, set by the search section (which runs first)
    first = report['search']['seeds'][0]
    metric = first['metric']
    ns = len(greedy.chain[0].allocation)
    steps = {}  # by size: records reused from the log keep the step of the search that made them
    for record in greedy.history:
        steps.setdefault(sum(record.allocation) - ns, []).append(
            dict(allocation=list(record.allocation), score=shown(record.score, metric)))
    chain = [dict(size=sum(r.allocation), allocation=list(r.allocation),
                  score=None if r.score is None else shown(r.score, metric))
             for r in greedy.chain]
    optimum = next(r for r in first['picks'] if r['method'] == 'exhaustive')
    stage_names = [s.name for s in ctx.target().space.searched]
    return dict(space=greedy.space, budget=greedy.budget['limit'], stages=stage_names,
                metric=metric, score_name=report['search']['score_name'], chain=chain,
                steps=[dict(step=k, size=chain[k]['size'], candidates=v)
                       for k, v in sorted(steps.items())],
                ties=[dict(step=t['step'], allocations=[list(a) for a in t['allocations']])
                      for t in greedy.ties],
                optimum=dict(allocation=optimum['allocation'], score=optimum['search_score']))


def plot(data: dict, path):
    fig, (top, bottom) = figure(2, 1, size=(8, 7), sharex=True,
                                gridspec_kw=dict(height_ratios=(3, 2)))
    for step in data['steps']:
        ys = [c['score'] for c in step['candidates']]
        top.scatter([step['size']] * len(ys), ys, color='0.6', s=18, zorder=2,
                    label='candidates' if step['step'] == 1 else None)
    scored = [c for c in data['chain'] if c['score'] is not None]
    top.plot([c['size'] for c in scored], [c['score'] for c in scored], '-o', color='C3',
             zorder=3, label='chain (kept)')
    for c in scored:
        top.annotate(allocation(c['allocation']), (c['size'], c['score']), fontsize=7,
                     textcoords='offset points', xytext=(0, 7), ha='center', rotation=35)
    optimum = data['optimum']
    top.scatter([sum(optimum['allocation'])], [optimum['score']], marker='*', s=150, color='k',
                zorder=4, label=f'exhaustive optimum ({allocation(optimum["allocation"])})')
    top.set_ylabel(f'held-out {data["score_name"]}')
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
    decimals = 2 if data['metric'] == 'accuracy' else 4
    rows = []
    for step in data['steps']:
        kept = data['chain'][step['step']]
        others = ', '.join(f'{allocation(c["allocation"])} {num(c["score"], decimals)}'
                           for c in step['candidates'] if c['allocation'] != kept['allocation'])
        rows.append([step['size'], allocation(kept['allocation']), num(kept['score'], decimals),
                     others or '–'])
    chain = ' → '.join(allocation(c['allocation']) for c in data['chain'])
    ties = '; '.join(f'step {t["step"]}: ' + ', '.join(allocation(a) for a in t['allocations'])
                     for t in data['ties'])
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. Chain (first target seed): {chain}. Exact ties, '
        f'settled by the seeded order, not by stage: {ties or "none"}.',
        table(['size', 'kept', f'held-out {data["score_name"]}',
               f'other candidates (held-out {data["score_name"]})'], rows)])
