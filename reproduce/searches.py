"""Section 2: greedy block search (beam 1 and 2) against the exhaustive optimum, random and
evolutionary search, each pick judged on data that did not choose it.

Per target seed (the target's draw of images, the super-network's fine-tuning on it and the
baselines' seed): every allocation of C blocks is scored once on the 'search' part (the
exhaustive search, with per-image records for the headroom figures), the scores go into the
seed's search log, and every method searches through that log, so an allocation has one score
whichever method asks. Random and evolution get as many evaluations as greedy (k = 1); evolution
also as many as beam 2 (:func:`search_every_way`, which ``benchmarks/greedy_vs_exhaustive.py``
runs on the digits demo too). Each method's pick is then

* re-scored on the 'rescore' part with the same fine-tuned super-network (top-1 and
  log-likelihood), and
* cut from the source super-network, fine-tuned on the target's 'train' part and tested on its
  'test' part (:meth:`~reproduce.context.ReportContext.finetuned_top1`).

Methods are compared by these two over the seeds (mean ± std); the score that chose a pick is
shown only as a labelled secondary column, since ranking picks by it favours whoever drew more
candidates of the final size (the winner's curse).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from common.checkpoint import atomic_write
from engine.progress import progress
from search import (
    Record,
    SearchLog,
    crowd_at_the_top,
    evolution_search,
    greedy_search,
    make_budget,
    random_search,
)
from search.evaluator import PerImage

from .context import ReportContext
from .render import allocation, figure, num, plus_minus, provenance, save, table

KEY = 'search'
TITLE = '2. Greedy vs exhaustive vs random vs evolution, re-scored'
FIGURE = 'search.png'
METHODS = ('greedy', 'greedy-beam2', 'exhaustive', 'random', 'evolution', 'evolution@beam2')
COLORS = {'greedy': 'C3', 'greedy-beam2': 'C1', 'exhaustive': 'C7', 'random': 'C0',
          'evolution': 'C2', 'evolution@beam2': 'C4'}
SCORE_NAMES = {'accuracy': 'top-1 (%)', 'loss': 'log-likelihood'}
BOOTSTRAP = 1000


def percent(score: float) -> float:
    return round(100 * score, 2)


def shown(score: float, metric: str) -> float:
    """A search score as the report prints it: top-1 in %, log-likelihood to 4 decimals."""
    return percent(score) if metric == 'accuracy' else round(score, 4)


def start(ctx):
    """Queue the last target seed's searches in the report's second process, when it has one
    and there is more than one seed (call once the super-network exists: they fine-tune it)."""
    if ctx.beside.parallel and len(ctx.seeds) > 1:
        ctx.beside.submit((KEY, ctx.seeds[-1]), seed_run_beside, ctx.arguments(), ctx.supernet,
                          ctx.seeds[-1])


def seed_run_beside(arguments: dict, supernet: str, seed: int) -> tuple:
    """One target seed's searches in the second process, with its own context on the same
    folders: ``(the seed's results, the context's state)``."""
    ctx = ReportContext.in_second_process(arguments, supernet)
    return _seed_run(ctx, seed), ctx.state()


def compute(ctx, report: dict) -> dict:
    s = ctx.settings
    seeds = []
    for seed in progress(ctx.seeds, 'searches: target seeds'):
        if (KEY, seed) in ctx.beside:
            (run, state), _ = ctx.beside.result((KEY, seed))
            ctx.absorb(state)
        else:
            run = _seed_run(ctx, seed)
        seeds.append(run)
    first = seeds[0]
    summary = {}
    for method in METHODS:
        rows = [r for seed in seeds for r in seed['picks'] if r['method'] == method]
        summary[method] = dict(
            evaluations=round(float(np.mean([r['evaluations'] for r in rows])), 1),
            rescore=mean_std([r['rescore_top1'] for r in rows]),
            test=mean_std([r['test_top1'] for r in rows]),
            search_rank=round(float(np.mean([r['search_rank'] for r in rows])), 1))
    comparisons = [_paired(seeds, a, b) for a, b in (
        ('greedy', 'exhaustive'), ('greedy', 'random'), ('greedy', 'evolution'),
        ('greedy-beam2', 'evolution@beam2'), ('greedy-beam2', 'greedy'))]
    greedy_share = round(100 * summary['greedy']['evaluations'] / first['frontier_size'], 1)
    return dict(space=first['space'], budget=s.budget, metric=first['metric'],
                score_name=SCORE_NAMES[first['metric']], frontier_size=first['frontier_size'],
                seeds=seeds, summary=summary, comparisons=comparisons,
                greedy_evaluation_share=greedy_share, subnet_epochs=s.subnet_epochs,
                bootstrap=BOOTSTRAP)


def _seed_run(ctx, seed: int) -> dict:
    s = ctx.settings
    target = ctx.target(seed)
    space, metric = target.space, target.metric
    budget = make_budget(space, 'blocks', s.budget, counter=False)
    found = search_every_way(space, budget, target.evaluators['search'], metric,
                             target.work_dir, seed)
    ctx.reused['search_evaluations'] += found['reused']  # scored by the run this one resumes
    frontier, per_image, means, scores = (found[k] for k in ('frontier', 'per_image', 'means',
                                                             'scores'))
    index = {a: i for i, a in enumerate(frontier)}
    ctx.frontier_scores[seed] = {a: (float(means['correct'][i]), float(means['loglik'][i]))
                                 for a, i in index.items()}
    results, picks, evaluations = found['results'], found['picks'], found['evaluations']
    if seed == ctx.seed:
        ctx.greedy = results['greedy']  # the trajectory section draws the first seed's
    rows = []
    for name in METHODS:
        pick = picks[name]
        again = target.rescored(pick)
        rows.append(dict(
            method=name, allocation=list(pick), evaluations=evaluations[name],
            search_score=shown(float(scores[index[pick]]), metric),
            search_rank=search_rank(scores, index[pick]),
            rescore_top1=percent(again.correct.mean()),
            rescore_loglik=round(float(again.loglik.mean()), 4),
            test_top1=ctx.finetuned_top1(pick, seed)))
    crowds = {}
    for name, key in (('top-1', 'correct'), ('log-likelihood', 'loglik')):
        crowd = crowd_at_the_top(per_image[key], BOOTSTRAP, seed)
        scale = 100 if key == 'correct' else 1
        crowds[name] = dict(best=list(frontier[crowd['best']]),
                            se=round(scale * crowd['se'], 4), within=crowd['within'],
                            share=round(100 * crowd['within'] / len(frontier), 1),
                            ties=crowd['ties'], paired_within=crowd['paired_within'],
                            paired_share=round(100 * crowd['paired_within'] / len(frontier), 1))
    return dict(seed=seed, space=space.name, metric=metric, frontier_size=len(frontier),
                search_images=int(per_image['correct'].shape[1]), crowd=crowds, picks=rows,
                chain=[list(r.allocation) for r in results['greedy'].chain],
                all=[[list(a), shown(float(v), metric)] for a, v in zip(frontier, scores)],
                worst=list(frontier[int(np.argmin(scores))]))


def search_every_way(space, budget, evaluate, metric: str, work_dir, seed: int) -> dict:
    """Every allocation of ``budget``'s frontier scored once by ``evaluate`` (as a prefix tree,
    :func:`frontier_records`), the scores written to the search log in ``work_dir``, then greedy
    (beam 1 and 2), random and evolution searching through that log (random and evolution with
    greedy's evaluations, evolution also with beam 2's), so an allocation has one score
    whichever method asks.

    Returns ``frontier``, ``per_image`` (top-1 hits and log-likelihoods per allocation and
    image), their ``means``, the ``scores`` by ``metric``, each method's search ``results``,
    ``picks`` (exhaustive's included), ``evaluations``, ``reused`` (scores the log held
    already) and ``seconds`` (scoring the frontier, the searches)."""
    clock = time.perf_counter()
    frontier = budget.frontier()
    per_image = frontier_records(evaluate, frontier, Path(work_dir) / 'per_image.npz')
    means = {key: values.mean(1) for key, values in per_image.items()}
    scores = means['correct' if metric == 'accuracy' else 'loglik']
    scoring = time.perf_counter() - clock
    log = SearchLog(Path(work_dir) / 'search_log.jsonl',
                    meta={'space': space.name, 'metric': metric})
    reused = len(log)
    for a, score in zip(frontier, scores):  # the exhaustive search's scores, for every method
        if log.get(a) is None:
            log.append(Record(a, float(score), method='exhaustive'))
    results = {}
    with torch.no_grad():
        for name, beam in (('greedy', 1), ('greedy-beam2', 2)):
            results[name] = greedy_search(space, budget, evaluate, log=log, counter=False,
                                          beam=beam, seed=seed)
        n1, n2 = (len(results[k].history) for k in ('greedy', 'greedy-beam2'))
        for name, search, n in (('random', random_search, n1), ('evolution', evolution_search, n1),
                                ('evolution@beam2', evolution_search, n2)):
            results[name] = search(space, budget, evaluate, n, seed=seed, log=log, counter=False)
    picks = {name: result.best.allocation for name, result in results.items()}
    picks['exhaustive'] = frontier[int(np.argmax(scores))]
    evaluations = {name: len(result.history) for name, result in results.items()}
    evaluations['exhaustive'] = len(frontier)
    return dict(frontier=frontier, per_image=per_image, means=means, scores=scores,
                results=results, picks=picks, evaluations=evaluations, reused=reused,
                seconds=dict(scoring=scoring, searches=time.perf_counter() - clock - scoring))


def search_rank(scores, i: int) -> int:
    """1 + the number of allocations scoring strictly better than the ``i``-th."""
    return 1 + int(np.sum(scores > scores[i]))


def frontier_records(evaluate, frontier: list, path, save_every: float = 60.0) -> dict:
    """Per-image records (top-1 hits, log-likelihoods) of every allocation of the frontier on
    the search part, computed once (every shared prefix of blocks runs once) and kept in
    ``path`` for a resumed run. While they are computed, those done so far are kept beside it
    (``*.so_far.npz``, at most every ``save_every`` seconds), so a run killed mid-way resumes
    with the rest: a prefix's features and BatchNorm statistics depend on that prefix and the
    fixed recalibration batches only, so the records equal an uninterrupted run's."""
    path = Path(path)
    if path.exists():
        with np.load(path) as stored:
            if [tuple(a) for a in stored['allocations']] == list(frontier):
                return dict(correct=stored['correct'], loglik=stored['loglik'])
    # 'so far', not 'partial': common.checkpoint's temporary files are '.partial', and those
    # are incomplete writes, where this file is complete records of some allocations
    so_far = path.with_name(path.stem + '.so_far.npz')
    records = _load_records(so_far, frontier)
    todo = [a for a in frontier if a not in records]
    saved = time.monotonic()
    with torch.no_grad():
        for a, _ in progress(evaluate.evaluate_all(todo), 'exhaustive: every allocation',
                             total=len(frontier), initial=len(records)):
            records[a] = evaluate.last_per_image
            if time.monotonic() - saved >= save_every and len(records) < len(frontier):
                _save_records(so_far, list(records), records)
                saved = time.monotonic()
    data = _save_records(path, frontier, records)
    so_far.unlink(missing_ok=True)
    return data


def _save_records(path: Path, allocations: list, records: dict) -> dict:
    """Write the records of ``allocations`` to ``path`` (atomically); returns the arrays."""
    data = dict(correct=np.stack([records[a].correct for a in allocations]).astype(np.float64),
                loglik=np.stack([records[a].loglik for a in allocations]))
    atomic_write(path, lambda f: np.savez_compressed(f, allocations=np.array(allocations),
                                                     **data))
    return data


def _load_records(path: Path, frontier: list) -> dict:
    """The records kept at ``path`` of allocations on ``frontier`` (empty when none)."""
    if not path.exists():
        return {}
    with np.load(path) as stored:
        kept = {tuple(int(d) for d in a): PerImage(correct, loglik)
                for a, correct, loglik in zip(stored['allocations'], stored['correct'],
                                              stored['loglik'])}
    return {a: kept[a] for a in frontier if a in kept}


def mean_std(values: list) -> dict:
    """Mean and standard deviation (over seeds; ``None`` for one value), as the report shows
    them."""
    return dict(mean=round(float(np.mean(values)), 2),
                std=round(float(np.std(values, ddof=1)), 2) if len(values) > 1 else None)


def paired_difference(diffs: list) -> dict:
    """Per-seed differences ``a - b`` (same target, same fine-tuning): their mean, the standard
    error of the mean and the verdict, a tie when within one SE, else 'ahead' or 'behind'."""
    mean = float(np.mean(diffs))
    se = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else None
    verdict = 'tie' if se is None or abs(mean) <= se else 'ahead' if mean > 0 else 'behind'
    return dict(diffs=[round(d, 2) for d in diffs], mean=round(mean, 2),
                se=None if se is None else round(se, 2), verdict=verdict)


def _paired(seeds: list, a: str, b: str) -> dict:
    """``a`` minus ``b`` per seed, on the rescore part and on test (:func:`paired_difference`)."""
    out = dict(a=a, b=b)
    for key in ('rescore_top1', 'test_top1'):
        diffs = []
        for seed in seeds:
            by_method = {r['method']: r[key] for r in seed['picks']}
            diffs.append(by_method[a] - by_method[b])
        out[key] = paired_difference(diffs)
    return out


def plot(data: dict, path):
    fig, axes = figure(1, 2, size=(11, 4.6))
    for ax, key, label in ((axes[0], 'rescore_top1', 'rescore part (held out, top-1 %)'),
                           (axes[1], 'test_top1', f'test top-1 (%) after fine-tuning '
                                                  f'{data["subnet_epochs"]} epochs')):
        for x, method in enumerate(METHODS):
            values = [r[key] for seed in data['seeds'] for r in seed['picks']
                      if r['method'] == method]
            jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0]
            ax.scatter(x + np.asarray(jitter), values, color=COLORS[method], s=22, alpha=0.7)
            mean = np.mean(values)
            std = np.std(values, ddof=1) if len(values) > 1 else 0
            ax.errorbar([x + 0.3], [mean], yerr=[std], fmt='o', color=COLORS[method],
                        capsize=4, ms=7)
        ax.set_xticks(range(len(METHODS)))
        ax.set_xticklabels(METHODS, rotation=25, fontsize=8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, axis='y')
    fig.suptitle(f'Picks of each search on {data["space"]}, C = {data["budget"]} blocks, judged '
                 f'on data that did not choose them ({len(data["seeds"])} target seeds: dots; '
                 'mean ± std)', fontsize=10)
    return save(fig, path, data)


def markdown(data: dict) -> str:
    summary, seeds = data['summary'], data['seeds']
    main = [[m, num(summary[m]['evaluations'], 1), _pm(summary[m]['rescore']),
             _pm(summary[m]['test']), num(summary[m]['search_rank'], 1)] for m in METHODS]
    per_seed = [[seed['seed'], r['method'], allocation(r['allocation']), r['evaluations'],
                 num(r['rescore_top1']), num(r['test_top1']),
                 num(r['search_score'], 2 if data['metric'] == 'accuracy' else 4),
                 r['search_rank']] for seed in seeds for r in seed['picks']]
    crowd = [[seed['seed'], name, seed['search_images'], allocation(c['best']),
              num(c['se'], 2 if name == 'top-1' else 4), f'{c["within"]} ({num(c["share"], 1)}%)',
              f'{c["paired_within"]} ({num(c["paired_share"], 1)}%)', c['ties']]
             for seed in seeds for name, c in seed['crowd'].items()]
    verdicts = [[f'{c["a"]} − {c["b"]}'] + [
        f'{num(c[k]["mean"], sign=True)} ± {num(c[k]["se"])} ({c[k]["verdict"]})'
        for k in ('rescore_top1', 'test_top1')] for c in data['comparisons']]
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. Per target seed, every allocation of C = '
        f'{data["budget"]} blocks in `{data["space"]}` ({data["frontier_size"]}) was scored '
        f'on the target\'s search part (held-out {data["score_name"]} of the target-fine-tuned '
        f'super-network after BatchNorm recalibration); all methods read those scores. Each '
        f'pick is judged on the rescore part (same super-network, other images) and by its '
        f'test top-1 after {data["subnet_epochs"]} epochs of fine-tuning from inherited weights '
        f'(the test part, which nothing else touches). Mean ± std over '
        f'{len(seeds)} seeds; the last column ranks picks by the score that chose them '
        f'(secondary: it favours methods that drew more candidates of the final size).',
        table(['method', 'evaluations', 'rescore top-1 (%)', 'test top-1 (%)',
               'rank by selection score (secondary)'], main),
        f'Paired differences per seed (mean ± standard error over {len(seeds)} seeds; within '
        f'one SE is a tie). Greedy (k = 1) used {num(data["greedy_evaluation_share"], 1)}% of '
        'the exhaustive search\'s evaluations.',
        table(['difference', 'rescore top-1 (points)', 'test top-1 (points)'], verdicts),
        '**Headroom.** Can the search part resolve the best allocations? The bootstrap '
        f'standard error ({data["bootstrap"]} resamples of the search images) of the best '
        'allocation\'s score, and how many others score within one SE of it; paired: within '
        'one SE of their *difference* to the best (the same images score both).',
        table(['seed', 'score', 'search images', 'best', 'SE', 'within 1 SE',
               'within 1 paired SE', 'exact ties'], crowd),
        table(['seed', 'method', 'chosen', 'evaluations', 'rescore top-1', 'test top-1',
               f'selection score ({data["score_name"]})', 'selection rank'], per_seed)])


def _pm(stats: dict) -> str:
    return plus_minus(stats['mean'], stats['std'])

