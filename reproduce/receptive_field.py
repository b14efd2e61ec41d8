"""Section 5: effective receptive fields of the last stage for a few allocations of the source
super-network (paper 004, Fig. 3: the transferred [1, 3, 7, 5] against ResNet-50 [3, 4, 6, 3]).

Two settings: the paper's (ReLUs dropped, input ones) and Luo et al.'s with the ReLUs kept,
averaged over target images. ``tools/visualize_erf.py`` draws the same for any allocations.
"""
from __future__ import annotations

from analysis.erf import (
    allocation_backbones,
    effective_receptive_field,
    erf_inputs,
    erf_stats,
    plot_erfs,
)
from engine.progress import progress
from supernet import get_space

from .context import SPACE
from .render import allocation, num, provenance, table

KEY = 'erf'
TITLE = '5. Effective receptive field'
FIGURE = 'erf.png'
STAGE = 4


def settings_of(ctx) -> list:
    """(name, linear, input kind, images) of each row of the figure."""
    return [('paper: ReLU dropped, input ones', True, 'ones', 1),
            ('ReLU kept, target images', False, 'tops', ctx.settings.erf_images)]


def compute(ctx, report: dict) -> dict:
    space = get_space(SPACE)
    size = ctx.settings.erf_size
    first = report['search']['seeds'][0]
    greedy = tuple(next(r for r in first['picks'] if r['method'] == 'greedy')['allocation'])
    roles = {}
    for role, depths in (('shallowest', space.min_depths), ('ResNet-50', space.default_depths),
                         ('greedy', greedy), ('deepest', space.max_depths)):
        roles.setdefault(tuple(depths), []).append(role)
    rows = []
    for name, linear, kind, count in settings_of(ctx):
        inputs = erf_inputs(kind, count, size, seed=ctx.seed)
        panels = []
        backbones = allocation_backbones(SPACE, list(roles), ctx.supernet)
        for depths, backbone in progress(backbones, f'ERF ({name})', total=len(roles)):
            erf = effective_receptive_field(backbone, inputs, STAGE, linear=linear)
            panels.append(dict(allocation=list(depths), role=', '.join(roles[depths]),
                               map=[[float(f'{v:.4g}') for v in row] for row in erf],
                               **erf_stats(erf)))
        rows.append(dict(name=name, linear=linear, input=kind, images=count, panels=panels))
    paper = {p['role']: p['radius90'] for p in rows[0]['panels']}
    return dict(space=SPACE, stage=STAGE, size=size, rows=rows,
                # None when the greedy search chose ResNet-50's allocation itself
                greedy_wider_than_resnet50=(paper['greedy'] > paper['ResNet-50']
                                            if 'greedy' in paper else None),
                tool_command=(f'python tools/visualize_erf.py --space {SPACE} --checkpoint '
                              f'SUPERNET --stage {STAGE} --size {size} --allocations '
                              + ' '.join(','.join(map(str, a)) for a in roles)
                              + ' --input ones --linear --out erf.png'))


def plot(data: dict, path):
    import numpy as np
    rows = [(row['name'], [(f'{allocation(p["allocation"])} ({p["role"]})', np.array(p['map']),
                            p) for p in row['panels']]) for row in data['rows']]
    return plot_erfs(rows, path, footer=f'{data["command"]}   (seed {data["seed"]})',
                     suptitle=f'ERF of the centre of stage {data["stage"]} ({data["space"]}, '
                              f'source super-network weights, {data["size"]} px input)')


def markdown(data: dict) -> str:
    rows = []
    for row in data['rows']:
        for p in row['panels']:
            rows.append([row['name'], allocation(p['allocation']), p['role'],
                         sum(p['allocation']), num(p['radius90']),
                         num(p['outer_percent'], 1)])
    verdict = data['greedy_wider_than_resnet50']
    claim = ('' if verdict is None else
             f'In the paper\'s setting the greedy allocation\'s ERF is '
             f'{"wider" if verdict else "not wider"} than ResNet-50\'s (r90 above).')
    centre = data['rows'][0]['panels'][0]['center_radius']
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}; the same with `tools/visualize_erf.py`: '
        f'`{data["tool_command"]}`. r90: half-width (px) of the smallest centred square holding '
        f'90% of the ERF; outer: share outside the central square of half-width '
        f'{num(centre)} px (green).',
        table(['setting', 'allocation', 'role', 'blocks', 'r90 (px)', 'outer %'], rows),
        claim])
