"""Section 2: greedy block search against exhaustive, random and evolutionary search at equal
evaluations, all scoring with one evaluator (the target-fine-tuned super-network, BatchNorm
recalibration, top-1 on a held-out part of the target's training split).

The greedy search runs first (with its prefix cache, so its seconds are its own). The others
share its log: an allocation is scored once, and every method sees the same score for it.
Exhaustive search scores the whole frontier (every allocation of C blocks), which ranks what the
others choose. Random and evolution get as many evaluations as the greedy search used, once per
seed.
"""
from __future__ import annotations

import numpy as np
import torch

from search import (
    SearchLog,
    evolution_search,
    exhaustive_search,
    greedy_search,
    make_budget,
    random_search,
)

from .render import allocation, figure, num, provenance, save, table

KEY = 'search'
TITLE = '2. Greedy vs exhaustive vs random vs evolution'
FIGURE = 'search.png'
COLORS = {'greedy': 'C3', 'exhaustive': 'C7', 'random': 'C0', 'evolution': 'C2'}


def percent(score: float) -> float:
    return round(100 * score, 2)


def compute(ctx, report: dict) -> dict:
    s = ctx.settings
    _, evaluate = ctx.target_search
    space = evaluate.backbone.space
    budget = make_budget(space, 'blocks', s.budget, counter=False)
    frontier = budget.frontier()
    log = SearchLog(ctx.work_dir / 'search_log.jsonl', meta={'space': space.name})
    ctx.reused['search_evaluations'] = len(log)  # scored by the run this one resumes
    runs = []  # (method, seed, result); a run's seconds are those of its records
    with torch.no_grad():
        greedy = greedy_search(space, budget, evaluate, log=log, counter=False, progress=True)
        runs.append(('greedy', None, greedy))
        n = len(greedy.history)
        exhaustive = exhaustive_search(space, budget, evaluate, max_evaluations=len(frontier),
                                       log=log, counter=False, progress=True)
        runs.append(('exhaustive', None, exhaustive))
        for offset in range(s.search_seeds):
            seed = ctx.seed + offset
            for name, search in (('random', random_search), ('evolution', evolution_search)):
                result = search(space, budget, evaluate, n, seed=seed, log=log, counter=False)
                runs.append((name, seed, result))
    ctx.greedy = greedy
    scores = np.array([r.score for r in exhaustive.history])

    def rank(score: float) -> int:  # 1 + allocations of C blocks scoring strictly better
        return 1 + int(np.sum(scores > score))

    rows = []
    for name, seed, result in runs:
        best_so_far, best = [], None
        for record in result.history:
            if sum(record.allocation) == s.budget:  # greedy's earlier steps are smaller nets
                best = record.score if best is None else max(best, record.score)
            best_so_far.append(None if best is None else percent(best))
        rows.append(dict(
            method=name, seed=seed, evaluations=len(result.history),
            new_evaluations=result.num_evaluated, allocation=list(result.best.allocation),
            top1=percent(result.best.score), rank=rank(result.best.score),
            top_percent=round(100 * rank(result.best.score) / len(scores), 1),
            seconds=round(sum(r.seconds for r in result.history), 1),
            best_so_far=best_so_far))
    summary = {}
    for name in ('random', 'evolution'):
        mine = [r for r in rows if r['method'] == name]
        summary[name] = dict(mean_top1=round(float(np.mean([r['top1'] for r in mine])), 2),
                             mean_rank=round(float(np.mean([r['rank'] for r in mine])), 1),
                             best_rank=min(r['rank'] for r in mine),
                             worst_rank=max(r['rank'] for r in mine))
    greedy_row = rows[0]
    optimum = exhaustive.best
    return dict(
        space=space.name, budget=s.budget, frontier_size=len(frontier), evaluations=n,
        evaluation_share=round(100 * n / len(frontier), 1), seeds=s.search_seeds,
        optimum=dict(allocation=list(optimum.allocation), top1=percent(optimum.score)),
        worst=dict(allocation=list(min(exhaustive.history, key=lambda r: r.score).allocation),
                   top1=percent(scores.min())),
        median_top1=percent(float(np.median(scores))),
        all=[[list(r.allocation), percent(r.score)] for r in exhaustive.history],
        runs=rows, summary=summary,
        greedy_beats_random_mean=greedy_row['top1'] >= summary['random']['mean_top1'],
        greedy_beats_evolution_mean=greedy_row['top1'] >= summary['evolution']['mean_top1'])


def plot(data: dict, path):
    fig, ax = figure(size=(7.5, 4.6))
    labelled = set()
    for row in data['runs']:
        name = row['method']
        label = None if name in labelled else name
        labelled.add(name)
        xs = np.arange(1, len(row['best_so_far']) + 1)
        ys = np.array([np.nan if y is None else y for y in row['best_so_far']], float)
        if name == 'greedy':
            ax.plot(xs, ys, color=COLORS[name], lw=2.5, label=label, zorder=5)
            ax.scatter([xs[-1]], [ys[-1]], color=COLORS[name], marker='*', s=160, zorder=6)
        else:
            ax.step(xs, ys, where='post', color=COLORS[name], lw=1.2, alpha=0.75, label=label)
    optimum = data['optimum']
    ax.axhline(optimum['top1'], color='k', ls='--', lw=0.8,
               label=f'best of all {data["frontier_size"]} ({allocation(optimum["allocation"])})')
    ax.axvline(data['evaluations'], color='0.6', ls=':', lw=0.8)
    ax.set_xscale('log')
    ax.set_xlabel('evaluations spent')
    ax.set_ylabel(f'best held-out top-1 so far (%), {data["budget"]} blocks')
    ax.set_title(f'Searches on {data["space"]}, C = {data["budget"]} blocks '
                 f'({data["seeds"]} seeds for random / evolution)')
    ax.legend(fontsize=8, loc='lower right')
    ax.grid(alpha=0.3)
    return save(fig, path, data)


def markdown(data: dict) -> str:
    rows = [[r['method'], '–' if r['seed'] is None else r['seed'], r['evaluations'],
             allocation(r['allocation']), num(r['top1']), r['rank'], num(r['top_percent'], 1),
             num(r['seconds'], 1)] for r in data['runs']]
    greedy = data['runs'][0]
    rnd, evo = data['summary']['random'], data['summary']['evolution']
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. Every allocation of C = {data["budget"]} blocks in '
        f'`{data["space"]}` ({data["frontier_size"]} of them) was scored by the exhaustive '
        f'search; the rank of a chosen allocation is 1 + the number that score higher. '
        f'Scores: held-out top-1 (%) of the target-fine-tuned super-network after BatchNorm '
        f'recalibration. Seconds: the evaluations of the candidates the method asked for.',
        table(['method', 'seed', 'evaluations', 'chosen', 'held-out top-1', 'rank',
               'top %', 'seconds'], rows),
        f'Greedy search spent {data["evaluations"]} evaluations '
        f'({num(data["evaluation_share"], 1)}% of exhaustive) and chose '
        f'{allocation(greedy["allocation"])} at rank {greedy["rank"]} of '
        f'{data["frontier_size"]} ({num(greedy["top1"])}% against the optimum '
        f'{allocation(data["optimum"]["allocation"])} at {num(data["optimum"]["top1"])}%, '
        f'median {num(data["median_top1"])}%, worst {num(data["worst"]["top1"])}%). With as '
        f'many evaluations, random search reached {num(rnd["mean_top1"])}% on average (mean '
        f'rank {num(rnd["mean_rank"], 1)}, ranks {rnd["best_rank"]}–{rnd["worst_rank"]}) and '
        f'evolution {num(evo["mean_top1"])}% (mean rank {num(evo["mean_rank"], 1)}, ranks '
        f'{evo["best_rank"]}–{evo["worst_rank"]}).'])
