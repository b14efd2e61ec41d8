"""The headline: is the searched subnet better than the default allocation a user would otherwise
fine-tune (paper 004, Tables 1 and 3: [1, 3, 7, 5] and [1, 6, 6, 3] against ResNet-50's
[3, 4, 6, 3])?

Per target seed, at C blocks: greedy's pick and the exhaustive search's (section 2) and the
default allocation (ResNet-50's (3, 4, 6, 3) at C = 16; at another C its proportions rounded to
C), each fine-tuned on the target with one recipe (``configs/demo/finetune_subnet_tops.py``) from

(i) the weights it inherits from the source super-network,
(ii) those weights fine-tuned on the source first (paper 004, Sec. 3.4; ``source_step``), and,
     for the default only,
(iii) the subnet trained alone on the source with as many images as the super-network saw (the
      pretrained ResNet-50 a user would otherwise start from).

Test top-1 mean ± std over the target seeds, paired per-seed differences with their standard
error, and one claim per comparison: won, tied (within one SE) or lost. Source-side models are
trained once per run (:meth:`~reproduce.context.ReportContext.source_model`), whichever seed
asks first. Two diagnostics say whether the miniature is trained enough to tell:

* 3a, super-network quality: for ``alone_count`` allocations of C blocks, source top-1 with
  inherited weights (BatchNorm re-estimated) against the same allocation trained alone on the
  same source images; goal: mean gap ≤ 1 point;
* 3b, resolution: the paired SE of every searched-vs-default difference; goal: ≤ 0.5 points.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.progress import progress

from .context import ReportContext
from .render import allocation, epochs, figure, num, plus_minus, provenance, save, table
from .searches import mean_std, paired_difference, percent

KEY = 'headline'
TITLE = 'Headline: the searched subnet vs the default allocation'
FIGURE = 'headline.png'
ROLES = ('greedy', 'default', 'exhaustive')
ROLE_NAMES = {'greedy': "greedy's pick", 'default': 'default', 'exhaustive': 'exhaustive pick'}
STARTS = {'inherited': '(i) inherited', 'source': '(ii) inherited + source fine-tune',
          'alone': '(iii) trained alone on the source'}
# (role, start) minus (role, start), those whose runs exist; the first is the claim the header
# shows: the paper's method (with the source step when it is on) against what a user would
# otherwise do
COMPARISONS = (
    (('greedy', 'source'), ('default', 'alone')),
    (('greedy', 'inherited'), ('default', 'alone')),
    (('greedy', 'inherited'), ('default', 'inherited')),
    (('greedy', 'source'), ('default', 'source')),
    (('exhaustive', 'source'), ('default', 'alone')),
    (('greedy', 'source'), ('greedy', 'inherited')),
    (('default', 'source'), ('default', 'inherited')),
    (('default', 'source'), ('default', 'alone')),
    (('default', 'inherited'), ('default', 'alone')),
    (('greedy', 'source'), ('exhaustive', 'source')),
    (('greedy', 'inherited'), ('exhaustive', 'inherited')),
)
VERDICTS = {'ahead': 'won', 'tie': 'tied', 'behind': 'lost'}
GAP_GOAL, SE_GOAL = 1.0, 0.5  # points: diagnostics 3a and 3b
COLORS = {'greedy': 'C3', 'default': 'C0', 'exhaustive': 'C7'}


def source_kinds(settings) -> tuple:
    """The source-side models a headline start needs: ``'alone'`` always (start iii), and
    ``'finetuned'`` with the source step (start ii)."""
    return ('alone', 'finetuned') if settings.source_step else ('alone',)


def start(ctx):
    """Queue the default allocation's source-side models in the report's second process: they
    need only the super-network, and the second process has time while the searches run (call
    once the super-network exists)."""
    if ctx.beside.parallel:
        ctx.beside.submit((KEY, 'default'), run_beside, ctx.arguments(), ctx.supernet,
                          [('source_model', ctx.default, kind)
                           for kind in source_kinds(ctx.settings)])


def run_beside(arguments: dict, supernet: str, calls: list) -> dict:
    """``ctx.<name>(*args)`` for every ``(name, *args)`` of ``calls`` in the second process,
    with its own context on the same folders: its results are kept there and read back by
    the main process's calls; returns the context's state."""
    ctx = ReportContext.in_second_process(arguments, supernet)
    for name, *args in calls:
        getattr(ctx, name)(*args)
    return ctx.state()


def _split(ctx, calls: list, costs: list, desc: str):
    """Run ``(name, *args)`` calls on the context, about half the total cost in the second
    process (when there is one) and the rest here; returns when both are done. The calls must
    write different files (two processes would train the same model twice)."""
    beside, here, load = [], [], [0.0, 0.0]
    for call, cost in sorted(zip(calls, costs), key=lambda pair: -pair[1]):
        side = int(ctx.beside.parallel and load[1] < load[0])
        (beside if side else here).append(call)
        load[side] += cost
    if beside:
        ctx.beside.submit((KEY, desc), run_beside, ctx.arguments(), ctx.supernet, beside)
    for name, *args in progress(here, desc):
        getattr(ctx, name)(*args)
    if beside:
        state, _ = ctx.beside.result((KEY, desc))
        ctx.absorb(state)


def runs_of(search: dict, default: tuple, source_step: bool) -> list:
    """``(seed, role, allocation, start)`` of every fine-tune the table needs."""
    starts = ('inherited', 'source', 'alone') if source_step else ('inherited', 'alone')
    runs = []
    for seed in search['seeds']:
        picks = {r['method']: tuple(r['allocation']) for r in seed['picks']}
        chosen = dict(greedy=picks['greedy'], default=default, exhaustive=picks['exhaustive'])
        runs += [(seed['seed'], role, chosen[role], start) for role in ROLES for start in starts
                 if start != 'alone' or role == 'default']
    return runs


def compute(ctx, report: dict) -> dict:
    s, search = ctx.settings, report['search']
    default = ctx.default  # search['budget'] is the settings'
    if (KEY, 'default') in ctx.beside:
        ctx.absorb(ctx.beside.result((KEY, 'default'))[0])
    runs = runs_of(search, default, s.source_step)
    chosen = _quality_allocations(report, default, s.alone_count)
    # the source-side models first, then the target fine-tunes from them: split in two stages
    # so that no model is trained by both processes at once
    models = list(dict.fromkeys(
        [(depths, 'finetuned') for _, _, depths, start in runs if start == 'source']
        + [(depths, 'alone') for depths in [default] + chosen]))
    iterations = {'finetuned': s.source_finetune_iters, 'alone': s.supernet_iters}
    _split(ctx, [('source_model', depths, kind) for depths, kind in models],
           [iterations[kind] for _, kind in models], 'headline: subnets on the source')
    # one fine-tune where two roles picked the same allocation
    finetunes = list(dict.fromkeys(('finetuned_top1', depths, seed, start)
                                   for seed, _, depths, start in runs))
    _split(ctx, finetunes, [1] * len(finetunes), 'headline: fine-tune on the target')
    rows = [dict(seed=seed, role=role, allocation=list(depths), start=start,
                 test_top1=ctx.finetuned_top1(depths, seed, init=start))
            for seed, role, depths, start in runs]
    seeds = [seed['seed'] for seed in search['seeds']]
    top1 = {(r['role'], r['start'], r['seed']): r['test_top1'] for r in rows}
    present = list(dict.fromkeys((r['role'], r['start']) for r in rows))
    summary = [dict(role=role, start=start,
                    allocations=[r['allocation'] for r in rows
                                 if (r['role'], r['start']) == (role, start)],
                    **mean_std([top1[role, start, seed] for seed in seeds]))
               for role, start in present]
    comparisons = []
    for a, b in COMPARISONS:
        if a in present and b in present:
            paired = paired_difference([top1[(*a, seed)] - top1[(*b, seed)] for seed in seeds])
            comparisons.append(dict(a=list(a), b=list(b), searched_vs_default=(
                a[0] != 'default' and b[0] == 'default'), **paired))
    resolution = [c['se'] for c in comparisons if c['searched_vs_default']]
    quality = _quality(ctx, chosen)
    return dict(budget=search['budget'], default=list(default), seeds=seeds,
                epochs=s.subnet_epochs, source_step=s.source_step,
                source_finetune_iters=s.source_finetune_iters, alone_iters=s.supernet_iters,
                alone_batch=s.supernet_batch, rows=rows, summary=summary,
                comparisons=comparisons, quality=quality,
                decomposition=decompose(comparisons, quality, s),
                resolution=dict(max_se=None if None in resolution else max(resolution),
                                se_goal=SE_GOAL,
                                met=None not in resolution and max(resolution) <= SE_GOAL))


def decompose(comparisons: list, quality: dict, settings) -> dict:
    """Where the searched subnet's loss to the default trained alone comes from, paired per
    seed: the search's gain at equal weights (greedy − default, both from the super-network)
    plus the weight-sharing gap after transfer (the default from the super-network − the
    default trained alone) is the total, exactly; beside them diagnostic 3a (the same gap on
    the source, before transfer) and the recipe that made the weights."""
    start = 'source' if settings.source_step else 'inherited'
    found = {(tuple(c['a']), tuple(c['b'])): c for c in comparisons}

    def part(a, b):
        c = found[(a, b)]
        return dict(a=list(a), b=list(b), mean=c['mean'], se=c['se'], verdict=c['verdict'])
    return dict(
        recipe=settings.supernet_recipe, supernet_iters=settings.supernet_iters,
        source_distill=settings.source_distill if settings.source_step else None,
        source_finetune_iters=settings.source_finetune_iters if settings.source_step else None,
        source_finetune_lr=settings.source_finetune_lr if settings.source_step else None,
        total=part(('greedy', start), ('default', 'alone')),
        search_gain=part(('greedy', start), ('default', start)),
        weight_sharing_gap=part(('default', start), ('default', 'alone')),
        source_gap=quality['mean_gap'])


def _quality_allocations(report: dict, default: tuple, count: int) -> list:
    """The ``count`` allocations of diagnostic 3a: the default, the first seed's picks, then
    section 1's."""
    first = {r['method']: tuple(r['allocation']) for r in report['search']['seeds'][0]['picks']}
    candidates = [default, first['greedy'], first['exhaustive']] + [
        tuple(r['allocation']) for r in report['architecture']['rows']]
    return list(dict.fromkeys(candidates))[:count]


def _quality(ctx, chosen: list) -> dict:
    """Diagnostic 3a: inherited (BatchNorm re-estimated) against stand-alone source top-1 of
    the ``chosen`` allocations (trained alone already)."""
    rows = []
    for depths in chosen:
        with torch.no_grad():
            inherited = percent(ctx.source_evaluator(depths))
        alone = ctx.source_model(depths, 'alone')['top1']
        rows.append(dict(allocation=list(depths), inherited=inherited, alone=alone,
                         gap=round(alone - inherited, 2)))
    mean_gap = round(float(np.mean([r['gap'] for r in rows])), 2)
    return dict(rows=rows, mean_gap=mean_gap, gap_goal=GAP_GOAL, met=mean_gap <= GAP_GOAL)


def label(role: str, start: str, default: list) -> str:
    name = f'default {allocation(default)}' if role == 'default' else ROLE_NAMES[role]
    return f'{name}, {STARTS[start]}'


def claim_lines(data: dict) -> list:
    """One sentence per comparison: who won, tied or lost, by how much."""
    lines = []
    for c in data['comparisons']:
        lines.append(f'{label(*c["a"], data["default"])} vs {label(*c["b"], data["default"])}: '
                     f'**{VERDICTS[c["verdict"]]}** ({num(c["mean"], sign=True)} ± '
                     f'{num(c["se"])} points, paired over {len(c["diffs"])} seeds)')
    return lines


def diagnostic_lines(data: dict) -> list:
    """Diagnostics 3a and 3b against their goals."""
    quality, resolution = data['quality'], data['resolution']
    return [
        f'3a, super-network quality: over {len(quality["rows"])} allocations of '
        f'{data["budget"]} blocks, trained alone minus inherited source top-1 is '
        f'{num(quality["mean_gap"], sign=True)} points on average (goal ≤ '
        f'{num(quality["gap_goal"])}): {"met" if quality["met"] else "missed"}',
        f'3b, resolution: the largest paired SE of a searched-vs-default difference is '
        f'{num(resolution["max_se"])} points (goal ≤ {num(resolution["se_goal"])}): '
        f'{"met" if resolution["met"] else "missed"}']


def plot(data: dict, path):
    fig, ax = figure(size=(10, 4.8))
    for x, entry in enumerate(data['summary']):
        values = [r['test_top1'] for r in data['rows']
                  if (r['role'], r['start']) == (entry['role'], entry['start'])]
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0]
        color = COLORS[entry['role']]
        ax.scatter(x + np.asarray(jitter), values, color=color, s=22, alpha=0.7)
        ax.errorbar([x + 0.3], [entry['mean']], yerr=[entry['std'] or 0], fmt='o', color=color,
                    capsize=4, ms=7)
    ax.set_xticks(range(len(data['summary'])))
    short = {'inherited': '(i) inherited', 'source': '(ii) + source', 'alone': '(iii) alone'}
    ax.set_xticklabels([f'{ROLE_NAMES[e["role"]]}\n{short[e["start"]]}'
                        for e in data['summary']], fontsize=8)
    ax.set_ylabel(f'target test top-1 (%) after {epochs(data["epochs"])}')
    ax.set_title(f'C = {data["budget"]} blocks (default {allocation(data["default"])}), '
                 f'{len(data["seeds"])} target seeds (dots), mean ± std', fontsize=10)
    ax.grid(alpha=0.3, axis='y')
    return save(fig, path, data)


def markdown(data: dict) -> str:
    main = [[label(e['role'], e['start'], data['default']),
             ', '.join(allocation(a) for a in e['allocations']),
             plus_minus(e['mean'], e['std'])] for e in data['summary']]
    differences = [[f'{label(*c["a"], data["default"])} − {label(*c["b"], data["default"])}',
                    ', '.join(num(d, sign=True) for d in c['diffs']),
                    f'{plus_minus(c["mean"], c["se"], sign=True)}', VERDICTS[c['verdict']]]
                   for c in data['comparisons']]
    quality = [[allocation(r['allocation']), num(r['inherited']), num(r['alone']),
                num(r['gap'], sign=True)] for r in data['quality']['rows']]
    # no section number in the prose: every decimal in the markdown is one of the JSON's
    source = (f'(ii) fine-tunes the inherited subnet on the source for '
              f'{data["source_finetune_iters"]} iterations first (the paper\'s weight-transfer '
              'step, `configs/demo/finetune_subnet_fashion_split.py`); ' if data['source_step']
              else '(ii), the paper\'s weight-transfer step on the source, is off in this run; ')
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. Per target seed, greedy\'s pick, the exhaustive '
        f'search\'s pick (section 2) and the default allocation {allocation(data["default"])} '
        f'at C = {data["budget"]} blocks, fine-tuned {epochs(data["epochs"])} on the target '
        f'with one recipe and tested on its test part. (i) starts from the weights inherited '
        f'from the source super-network; {source}(iii) from the default trained alone on the '
        f'source from random init with the super-network\'s recipe and images '
        f'({data["alone_iters"]} iterations of {data["alone_batch"]}, '
        '`configs/demo/train_subnet_fashion_split.py`). Test top-1 mean ± std over '
        f'{len(data["seeds"])} target seeds; the allocations are each seed\'s.',
        table(['subnet, weights before the target', 'allocation per seed', 'test top-1 (%)'],
              main),
        'Paired differences (same target seed, same fine-tuning; mean ± standard error, within '
        'one SE is a tie):',
        table(['difference', 'per seed (points)', 'mean ± SE (points)', 'verdict'],
              differences),
        '\n'.join(f'* {line}' for line in claim_lines(data)),
        '**Trained enough to tell?** Source top-1 (held-out images of the source classes) of '
        'allocations of C blocks with the weights inherited from the super-network (BatchNorm '
        're-estimated) and trained alone on the same source images:',
        table(['allocation', 'inherited', 'trained alone', 'gap'], quality),
        '\n'.join(f'* {line}' for line in diagnostic_lines(data))]
        + ([decomposition_markdown(data)] if 'decomposition' in data else []))


DECOMPOSITION_ROWS = (
    ('total', 'searched subnet − the default trained alone'),
    ('search_gain', 'search gain at equal weights: greedy − default, both from the super-network'),
    ('weight_sharing_gap', 'weight-sharing gap after transfer: the default from the '
                           'super-network − the default trained alone'),
)


def decomposition_markdown(data: dict) -> str:
    """The table that splits the total loss (or gain) into search and weight sharing."""
    d = data['decomposition']
    rows = [[f'{text} ({label(*d[key]["a"], data["default"])} − '
             f'{label(*d[key]["b"], data["default"])})',
             plus_minus(d[key]['mean'], d[key]['se'], sign=True), VERDICTS[d[key]['verdict']]]
            for key, text in DECOMPOSITION_ROWS]
    rows.append(['3a: trained alone − inherited source top-1 (before transfer), mean over the '
                 'allocations above', num(d['source_gap'], sign=True), ''])
    teacher = {'alone': 'the default trained alone', 'largest': 'the largest subnet'}
    step = ('no source step' if d['source_finetune_iters'] is None else
            f'source step of {d["source_finetune_iters"]} iterations'
            + (f' at peak LR {d["source_finetune_lr"]}' if d.get('source_finetune_lr') else '')
            + (f', distilled from {teacher[d["source_distill"]]}'
               if d['source_distill'] in teacher else ''))
    return '\n\n'.join([
        f'**Where the difference comes from** (super-network recipe `{d["recipe"]}`, '
        f'{d["supernet_iters"]} iterations; {step}). Paired per seed, the first row is the sum '
        'of the next two:',
        table(['part', 'mean ± SE (points)', 'verdict'], rows)])
