"""Section 1: architecture matters (paper 004, Fig. 1). Allocations of one size, each with the
source super-network's weights: their top-1 on the source (held-out images of the source's
classes, BatchNorm recalibrated) against their top-1 on the target after the same fine-tuning
(the tops' test part), for the first target seed.

Which allocations: the greedy search's choice, the exhaustive optimum and worst (by search
score), ResNet-50's proportions when they have the size, then random allocations of the size.
Also measured here, over allocations spread from worst to best: how well each search score
(held-out top-1, held-out log-likelihood) predicts the fine-tuned test top-1 (Kendall τ).
"""
from __future__ import annotations

import numpy as np
import torch

from engine.progress import progress
from search import kendall_tau

from .render import allocation, epochs, figure, num, provenance, save, table
from .searches import percent

KEY = 'architecture'
TITLE = '1. Architecture matters (paper Fig. 1)'
FIGURE = 'architecture.png'
MARKERS = {'greedy': '*', 'optimum': 'P', 'worst': 'X', 'ResNet-50': 's', 'random': 'o'}


def pick(first_seed: dict, default, budget: int, count: int, seed: int) -> dict:
    """allocation -> roles, for ``count`` allocations of the search's size."""
    methods = {r['method']: tuple(r['allocation']) for r in first_seed['picks']}
    roles = {}
    for role, depths in (('greedy', methods['greedy']), ('optimum', methods['exhaustive']),
                         ('worst', tuple(first_seed['worst']))):
        roles.setdefault(depths, []).append(role)
    if sum(default) == budget:
        roles.setdefault(tuple(default), []).append('ResNet-50')
    frontier = [tuple(a) for a, _ in first_seed['all']]
    for i in np.random.default_rng(seed).permutation(len(frontier)):
        if len(roles) >= count:
            break
        roles.setdefault(frontier[i], ['random'])
    return roles


def compute(ctx, report: dict) -> dict:
    search = report['search']
    first = search['seeds'][0]
    both = ctx.frontier_scores[first['seed']]  # allocation -> (top-1, log-likelihood)
    space = ctx.target().space
    roles = pick(first, space.default_depths, search['budget'], ctx.settings.architecture_count,
                 ctx.seed)
    rows = []
    for depths in progress(roles, 'architecture: fine-tune subnets'):
        with torch.no_grad():
            source = percent(ctx.source_evaluator(depths))
        top1, loglik = both[depths]
        rows.append(dict(allocation=list(depths), roles=roles[depths], source_top1=source,
                         search_top1=percent(top1), search_loglik=round(loglik, 4),
                         target_top1=ctx.finetuned_top1(depths, first['seed'])))
    best_source = max(rows, key=lambda r: r['source_top1'])
    best_target = max(rows, key=lambda r: r['target_top1'])

    def tau(key):  # None when one side is constant (tau undefined)
        value = kendall_tau([r[key] for r in rows], [r['target_top1'] for r in rows])
        return None if np.isnan(value) else round(value, 2)

    return dict(size=search['budget'], epochs=ctx.settings.subnet_epochs, rows=rows,
                tau_source_target=tau('source_top1'), tau_search_target=tau('search_top1'),
                tau_loglik_target=tau('search_loglik'), metric=search['metric'],
                tau_step=round(4 / (len(rows) * (len(rows) - 1)), 2),  # one swapped pair
                best_source=best_source['allocation'], best_target=best_target['allocation'],
                best_source_is_best_target=best_source is best_target)


def plot(data: dict, path):
    fig, ax = figure(size=(7, 5))
    for row in data['rows']:
        role = row['roles'][0]
        ax.scatter(row['source_top1'], row['target_top1'], s=140 if role == 'greedy' else 70,
                   marker=MARKERS[role], label=f'{allocation(row["allocation"])} '
                   f'({", ".join(row["roles"])})', zorder=3)
    ax.set_xlabel('source top-1 (%): held-out source classes, inherited weights')
    ax.set_ylabel(f'target top-1 (%): tops test part, after {epochs(data["epochs"])}')
    ax.set_title(f'Allocations of {data["size"]} blocks: source vs target '
                 f'(Kendall τ = {num(data["tau_source_target"], sign=True)})')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc='best')
    ax.margins(0.15)
    return save(fig, path, data)


def markdown(data: dict) -> str:
    rows = [[allocation(r['allocation']), ', '.join(r['roles']), num(r['source_top1']),
             num(r['search_top1']), num(r['search_loglik'], 4), num(r['target_top1'])]
            for r in sorted(data['rows'], key=lambda r: -r['source_top1'])]
    if data['best_source_is_best_target']:
        verdict = (f'Here the allocation best on the source, {allocation(data["best_source"])}, '
                   'is also best on the target.')
    else:
        verdict = (f'The allocation best on the source ({allocation(data["best_source"])}) is '
                   f'not the best on the target ({allocation(data["best_target"])}).')
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. {len(data["rows"])} allocations of {data["size"]} '
        f'blocks, each cut from the source super-network and fine-tuned {epochs(data["epochs"])} '
        'on the target (same data, schedule and seed). Source top-1: held-out images of the '
        'source classes with BatchNorm recalibrated; search scores: held-out top-1 and '
        'log-likelihood on the target\'s search part (section 2, first seed); target top-1: '
        'the tops\' test part.',
        table(['allocation', 'role', 'source top-1', 'search top-1', 'search log-likelihood',
               'target top-1'], rows),
        f'{verdict} Kendall τ with target top-1: source top-1 '
        f'{num(data["tau_source_target"], sign=True)}; search top-1 '
        f'{num(data["tau_search_target"], sign=True)}; search log-likelihood '
        f'{num(data["tau_loglik_target"], sign=True)} (the search uses `{data["metric"]}`; '
        f'{len(data["rows"])} allocations, so one swapped pair moves τ by '
        f'{num(data["tau_step"])}).'])
