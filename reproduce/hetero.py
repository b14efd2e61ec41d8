"""Section 4: heterogeneous weight transfer (HMT, DPIAT, TLI) against random init and against
pretraining the target itself; the study ``benchmarks/transfer_effectiveness.py`` runs too.

The class split the search uses (:data:`TARGET`, ``analysis.smallnets.load_transfer_data``):
sources (small super-network subnets of other families, depths and widths) are trained on the
five Fashion-MNIST classes that are not tops; each target is initialised from its source by
every method (the head excepted: other labels) and fine-tuned on the five tops with few labels
(``transfer_target_images`` in all, a fifth per class), next to the same target from the same
random init with the same data order, and next to the pretrained reference: the target
architecture itself trained on the source data like the sources, its head replaced by the
random init's. Measured: target test top-1 at the tested epochs (after re-estimating BatchNorm
statistics on the target's training images, for every model alike), the fraction of target
tensors the method wrote (coverage), the seconds the transfer took, DPIAT's effectiveness
(top-1 after N epochs from the transfer / from random init), the pretraining gap (pretrained -
random top-1) and the share of it a transfer recovers, (transfer - random) / (pretrained -
random).

The data are drawn, and the sources and references trained, once (the report's seed); each
target seed (``settings.transfer_seeds``) draws the targets' random init and data order anew
(:func:`fine_tune_pairs`). A pair's ratio and share are computed on its top-1 averaged over
those seeds, with the standard deviation of the per-seed values beside (:func:`pair_figures`,
:func:`method_summary`). The section needs no super-network, so the report runs it in its
second process (:mod:`~reproduce.parallel`), and keeps its result for ``--resume``.
"""
from __future__ import annotations

import json
import time

import numpy as np
import torch

from analysis.smallnets import (
    GAP_GOAL,
    SHARE_GOAL,
    SOURCE_NETS,
    TARGET_NETS,
    Classifier,
    accuracy,
    evaluated_epochs,
    load_transfer_data,
    share_of_gain,
    timed_transfer,
    train_classifier,
    train_source,
    with_pretrained_backbone,
)
from common.checkpoint import atomic_write_text
from engine.progress import progress
from transfer import METHODS, similarity

from .render import epochs, figure, num, plus_minus, provenance, save, table

KEY = 'transfer'
TITLE = '4. Heterogeneous transfer: HMT, DPIAT, TLI vs random init'
FIGURE = 'transfer.png'
LR, BATCH, SOURCE_BATCH = 1e-3, 32, 64  # Adam; the batch of the target, of the source
# The class split, where pretraining on the source is worth several points (on the digits
# random init alone nearly saturates, so no init could show anything).
TARGET = 'tops'
METHOD_ORDER = sorted(METHODS)
COLORS = {'random': 'k', 'pretrained': '0.45', 'dpiat': 'C0', 'hmt': 'C1', 'tli': 'C2'}


def check_pairs(settings):
    """Refuse a pair naming an unknown network before anything is trained."""
    for source, target in settings.transfer_pairs:
        if source not in SOURCE_NETS or target not in TARGET_NETS:
            raise KeyError(f'transfer pair {source} -> {target}: sources are '
                           f'{sorted(SOURCE_NETS)}, targets {sorted(TARGET_NETS)}')


def start(ctx):
    """Queue the section in the report's second process (``ctx.beside``)."""
    ctx.beside.submit(KEY, measure_once, ctx.settings, ctx.seed, ctx.work_dir / f'{KEY}.json')


def compute(ctx, report: dict) -> dict:
    if KEY not in ctx.beside:
        start(ctx)
    # the job's own seconds (in the second process: not how long this one waited for it)
    (result, reused), seconds = ctx.beside.result(KEY)
    ctx.reused['transfer_section'] = reused
    return dict(result, seconds=seconds, beside=ctx.beside.parallel)


def measure_once(settings, seed: int, path) -> tuple:
    """``(section result, reused)``: the one kept in ``path`` by the run this one resumes, or
    :func:`measure`'s (then kept there)."""
    if path.exists():
        return json.loads(path.read_text()), True
    result = measure(settings, seed)
    atomic_write_text(path, json.dumps(result))
    return result, False


def measure(settings, seed: int) -> dict:
    """The section's numbers for ``settings``: data, sources and references with ``seed``,
    the fine-tunes over the target seeds ``seed, seed + 1, ...`` (``settings.transfer_seeds``)."""
    s = settings
    check_pairs(s)
    data = load_transfer_data(s.transfer_source_images, s.transfer_target_images,
                              s.transfer_test_images, s.transfer_size, seed=seed, target=TARGET)
    target_seeds = [seed + i for i in range(s.transfer_seeds)]
    run = fine_tune_pairs(data, s.transfer_pairs, target_seeds, seed, s.transfer_epochs,
                          s.transfer_evaluate_every, s.transfer_source_epochs)
    pairs = [pair_figures(run, source, target) for source, target in s.transfer_pairs]
    gaps = {p['target']: p['pretrained']['gap'] for p in pairs}
    gap_std = {p['target']: p['pretrained']['gap_std'] for p in pairs}
    summary = {method: method_summary(pairs, method, target_seeds) for method in METHOD_ORDER}
    # 1 / random top-1 is the most any init could reach: a target that random init already
    # trains to 98% caps every method's ratio at 1.02.
    ceilings = [p['random']['ceiling'] for p in pairs]
    mean_ceiling = round(float(np.mean(ceilings)), 2) if None not in ceilings else None
    return dict(epochs=s.transfer_epochs, size=s.transfer_size, mean_ceiling=mean_ceiling,
                tested_epochs=evaluated_epochs(s.transfer_epochs, s.transfer_evaluate_every),
                target=TARGET, labels_per_class=len(data.target_x) // data.target_classes,
                source_images=len(data.source_x), source_epochs=s.transfer_source_epochs,
                target_images=len(data.target_x), test_images=len(data.target_test_x),
                target_seeds=target_seeds, sources=run['sources'],
                references=run['references'], gaps=gaps, gap_std=gap_std,
                min_gap=min(gaps.values()), share_goal=SHARE_GOAL, gap_goal=GAP_GOAL,
                pairs=pairs, summary=summary, methods=METHOD_ORDER,
                part_seconds=run['part_seconds'],
                best_method=max(METHOD_ORDER, key=lambda m: summary[m]['mean_ratio']))


def fine_tune_pairs(data, pairs, target_seeds, seed: int, epochs: int, evaluate_every: int,
                    source_epochs: int, targets=(), adapt_epochs: int = 0, lr: float = LR,
                    batch: int = BATCH) -> dict:
    """The study's training: every source of ``pairs`` and the pretrained reference of every
    target trained on the source data (``seed``); then per target seed (its random init and
    data order), each target fine-tuned ``epochs`` on the target from random init, from its
    reference and, for every pair and method, transferred from the pair's source.

    Args:
        data: :class:`~analysis.smallnets.TransferData`.
        pairs: ``(source, target)``, names of ``SOURCE_NETS`` and ``TARGET_NETS``.
        targets: more targets, fine-tuned from random init and their reference only (the
            pretraining gap alone, no transfer).
        adapt_epochs: DPIAT's own protocol: each source fine-tuned this many epochs on the
            target's training images first, then transferred head and all (its head knows
            the target's labels); 0: the head is not transferred.

    Returns:
        ``sources`` and ``references`` (source test top-1, %), ``adapted`` (target test top-1 of
        each adapted source, %), ``baselines`` (target seed -> target -> ``random`` and
        ``pretrained`` curves), ``runs`` (target seed -> (source, target, method) -> ``curve``,
        ``coverage``, ``seconds`` of the transfer), ``similarity`` ((source, target) -> DPIAT
        similarity) and ``part_seconds``. A curve is the target test top-1 (%) after each
        epoch ``evaluated_epochs(epochs, evaluate_every)`` lists, with BatchNorm statistics
        re-estimated on the target's training images.
    """
    part_seconds, clock = {}, time.perf_counter()

    def lap(part):
        nonlocal clock
        part_seconds[part] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    def top1(model, x, y, recalibrate_on=None) -> float:
        return round(100 * accuracy(model, x, y, recalibrate_on=recalibrate_on), 2)

    def on_target(model) -> float:
        return top1(model, data.target_test_x, data.target_test_y, recalibrate_on=data.target_x)

    def fine_tune(model, target_seed) -> list:
        return train_classifier(model, data.target_x, data.target_y, epochs, target_seed, lr,
                                batch, on_target, evaluate_every)

    def target_init(name, target_seed):
        torch.manual_seed(target_seed)  # the same random init for every source and method
        return Classifier(*TARGET_NETS[name], num_classes=data.target_classes)

    def pretrain(spec):  # the sources and the pretrained references alike
        return train_source(spec, data, source_epochs, seed, lr, SOURCE_BATCH)

    sources = {name: pretrain(SOURCE_NETS[name]) for name in progress(
        dict.fromkeys(src for src, _ in pairs), 'transfer: sources')}
    source_top1 = {name: top1(m, data.source_test_x, data.source_test_y)
                   for name, m in sources.items()}
    adapted = {}
    for name, model in sources.items() if adapt_epochs else ():
        train_classifier(model, data.target_x, data.target_y, adapt_epochs, seed, lr, batch)
        adapted[name] = on_target(model.eval())
    exclude = () if adapt_epochs else 'head.*'
    lap('sources')
    references = {name: pretrain(TARGET_NETS[name]) for name in progress(
        dict.fromkeys([target for _, target in pairs] + list(targets)),
        'transfer: pretrained targets')}
    reference_top1 = {name: top1(m, data.source_test_x, data.source_test_y)
                      for name, m in references.items()}
    lap('references')

    baselines = {t: {} for t in target_seeds}  # target seed -> target -> the two curves
    runs = {t: {} for t in target_seeds}

    def baseline(target_seed, target):
        if target not in baselines[target_seed]:
            baselines[target_seed][target] = dict(
                random=fine_tune(target_init(target, target_seed), target_seed),
                pretrained=fine_tune(with_pretrained_backbone(target_init(target, target_seed),
                                                              references[target]), target_seed))

    jobs = [(t, pair) for t in target_seeds for pair in pairs]
    for target_seed, (source, target) in progress(jobs, 'transfer: seeds x pairs'):
        baseline(target_seed, target)
        for method in METHOD_ORDER:
            model = target_init(target, target_seed)
            transfer_report, seconds = timed_transfer(sources[source], model, method, exclude)
            runs[target_seed][source, target, method] = dict(
                curve=fine_tune(model, target_seed), coverage=transfer_report.coverage,
                seconds=seconds)
    gap_only = [(t, target) for t in target_seeds for target in targets]
    for target_seed, target in progress(gap_only, 'transfer: seeds x targets') if targets else ():
        baseline(target_seed, target)
    lap('fine_tunes')
    similarities = {(source, target): similarity(sources[source], target_init(target, seed))
                    for source, target in pairs}
    return dict(sources=source_top1, references=reference_top1, adapted=adapted,
                baselines=baselines, runs=runs, similarity=similarities,
                part_seconds=part_seconds)


def _mean_curve(curves) -> list:
    return [round(float(v), 2) for v in np.mean(curves, axis=0)]


def _std(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.std(values, ddof=1)), 2) if len(values) > 1 else None


def pair_figures(run: dict, source: str, target: str) -> dict:
    """One pair of :func:`fine_tune_pairs`'s ``run`` over its target seeds: mean curves, and
    ratio and share on the mean top-1 (as printed, two decimals), each with the standard
    deviation of its per-seed values."""
    baselines, runs = run['baselines'], run['runs']
    target_seeds = list(baselines)

    def curves(key):
        return [baselines[t][target][key] for t in target_seeds]

    random, pretrained = _mean_curve(curves('random')), _mean_curve(curves('pretrained'))
    random_finals = [c[-1] for c in curves('random')]
    pretrained_finals = [c[-1] for c in curves('pretrained')]
    methods = {}
    for method in METHOD_ORDER:
        mine = [runs[t][source, target, method] for t in target_seeds]
        curve = _mean_curve([r['curve'] for r in mine])
        finals = [r['curve'][-1] for r in mine]
        methods[method] = dict(
            curve=curve, top1=curve[-1], top1_std=_std(finals), per_seed=finals,
            ratio=round(curve[-1] / random[-1], 2),
            ratio_std=_std([f / r for f, r in zip(finals, random_finals)]),
            share=rounded(share_of_gain(curve[-1], random[-1], pretrained[-1])),
            share_std=_std([share_of_gain(f, r, p) for f, r, p
                            in zip(finals, random_finals, pretrained_finals)]),
            coverage=round(100 * float(np.mean([r['coverage'] for r in mine])), 1),
            seconds=round(float(np.mean([r['seconds'] for r in mine])), 2))
    return dict(source=source, target=target,
                similarity=round(run['similarity'][source, target], 2),
                random=dict(curve=random, top1=random[-1], top1_std=_std(random_finals),
                            per_seed=random_finals,
                            ceiling=round(100 / random[-1], 2) if random[-1] else None),
                pretrained=dict(curve=pretrained, top1=pretrained[-1],
                                top1_std=_std(pretrained_finals), per_seed=pretrained_finals,
                                ratio=round(pretrained[-1] / random[-1], 2),
                                gap=round(pretrained[-1] - random[-1], 2),
                                gap_std=_std([p - r for p, r in zip(pretrained_finals,
                                                                    random_finals)])),
                methods=methods)


def _share_stats(shares) -> dict:
    shares = [v for v in shares if v is not None]  # None: no gain to share
    if not shares:
        return dict(mean_share=None, min_share=None, pairs_below_0=0)
    return dict(mean_share=round(float(np.mean(shares)), 2), min_share=min(shares),
                pairs_below_0=sum(v < 0 for v in shares))


def method_summary(pairs, method, target_seeds) -> dict:
    """Over the pairs: ratios, shares (all pairs, and the pairs whose gap reaches the goal's),
    each seed's mean share over the pairs (mean and std over the seeds), coverage, seconds."""
    mine = [p['methods'][method] for p in pairs]
    ratios = [m['ratio'] for m in mine]
    mattering = [p['methods'][method]['share'] for p in pairs
                 if p['pretrained']['gap'] >= GAP_GOAL]
    per_seed = []  # each seed's mean share over the pairs (those with a gain to share)
    for i in range(len(target_seeds)):
        shares = [share_of_gain(p['methods'][method]['per_seed'][i], p['random']['per_seed'][i],
                                p['pretrained']['per_seed'][i]) for p in pairs]
        shares = [v for v in shares if v is not None]
        if shares:
            per_seed.append(float(np.mean(shares)))
    return dict(mean_ratio=round(float(np.mean(ratios)), 2), min_ratio=min(ratios),
                pairs_above_1=sum(r > 1 for r in ratios), **_share_stats(m['share'] for m in mine),
                gap_pairs=dict(count=len(mattering), **_share_stats(mattering)),
                seed_share=dict(mean=round(float(np.mean(per_seed)), 2) if per_seed else None,
                                std=_std(per_seed)),
                mean_coverage=round(float(np.mean([m['coverage'] for m in mine])), 1),
                mean_seconds=round(float(np.mean([m['seconds'] for m in mine])), 2))


def rounded(value: float | None) -> float | None:
    """``value`` to two decimals, as the markdown prints it; ``None`` stays ``None``."""
    return None if value is None else round(value, 2)


def plot(data: dict, path):
    pairs = data['pairs']
    fig, axes = figure(1, len(pairs), size=(3.3 * len(pairs), 3.8), squeeze=False)
    xs = tested_epochs(data)
    for ax, pair in zip(axes[0], pairs):
        ax.plot(xs, pair['random']['curve'], '--o', color=COLORS['random'], label='random')
        if 'pretrained' in pair:  # absent from reports made before it existed
            ax.plot(xs, pair['pretrained']['curve'], '--s', color=COLORS['pretrained'],
                    label='pretrained (same arch.)')
        for method in data['methods']:
            ax.plot(xs, pair['methods'][method]['curve'], '-o', color=COLORS[method],
                    label=f'{method} ({num(pair["methods"][method]["coverage"], 0)}%)')
        ax.set_title(f'{pair["source"]} → {pair["target"]}', fontsize=9)
        ax.set_xlabel('epochs on the target')
        ax.set_xticks(xs)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title='init (coverage)', title_fontsize=7)
    seeds = data.get('target_seeds')
    axes[0][0].set_ylabel('target test top-1 (%)' + (f', mean of {len(seeds)} seeds'
                                                      if seeds else ''))
    return save(fig, path, data)


def tested_epochs(data: dict) -> list:
    """The epochs after which the curves were tested (every one in reports made before
    ``transfer_evaluate_every``)."""
    return data.get('tested_epochs') or list(range(1, data['epochs'] + 1))


def markdown(data: dict) -> str:
    n, first = data['epochs'], tested_epochs(data)[0]
    rows = []
    for p in data['pairs']:
        pair = f'{p["source"]} → {p["target"]} (sim. {num(p["similarity"])})'
        random = p['random']
        ceiling = random.get('ceiling')  # absent from reports made before it existed
        rows.append([pair, 'random init', '–', '–', num(random['curve'][0]),
                     plus_minus(random['top1'], random.get('top1_std')),
                     f'≤ {num(ceiling)}' if ceiling else '–', '–'])
        reference = p.get('pretrained')  # absent from reports made before it existed
        if reference:
            gap = plus_minus(reference['gap'], reference.get('gap_std'), sign=True)
            rows.append(['', 'pretrained (same arch.)', '–', '–', num(reference['curve'][0]),
                         plus_minus(reference['top1'], reference.get('top1_std')),
                         num(reference['ratio']), f'gap {gap}'])
        for method in data['methods']:
            m = p['methods'][method]
            no_share = 'n/a: gap ≤ 0' if reference else '–'
            rows.append(['', method, num(m['coverage'], 1), num(m['seconds']),
                         num(m['curve'][0]), plus_minus(m['top1'], m.get('top1_std')),
                         plus_minus(m['ratio'], m.get('ratio_std')),
                         no_share if m.get('share') is None
                         else plus_minus(m['share'], m.get('share_std'))])
    summary = []
    for m, s in data['summary'].items():
        mattering, per_seed = s.get('gap_pairs'), s.get('seed_share')
        summary.append([m, num(s['mean_ratio']), num(s['min_ratio']),
                        f'{s["pairs_above_1"]} of {len(data["pairs"])}', num(s.get('mean_share')),
                        num(s.get('min_share')), str(s.get('pairs_below_0', '–')),
                        num(mattering['mean_share']) if mattering else '–',
                        num(mattering['min_share']) if mattering else '–',
                        str(mattering['pairs_below_0']) if mattering else '–',
                        plus_minus(per_seed['mean'], per_seed['std']) if per_seed else '–',
                        num(s['mean_coverage'], 1), num(s['mean_seconds'])])
    sources = ', '.join(f'{name} {num(top1)}%' for name, top1 in data['sources'].items())
    best = data['summary'][data['best_method']]
    seeds = data.get('target_seeds')
    over = (f'mean over target seeds {", ".join(map(str, seeds))} (± the standard deviation of '
            f'the per-seed values; ratio and share are taken of the mean top-1)'
            if seeds else 'one seed')
    if data.get('target', 'digits') == 'digits':  # reports made before the tops target
        setting = (f'Sources trained on {data["source_images"]} Fashion-MNIST images (test '
                   f'top-1: {sources}); targets fine-tuned {epochs(n)} on '
                   f'{data["target_images"]} digits at {data["size"]} px and tested on '
                   f'{data["test_images"]}.')
    else:
        references = ', '.join(f'{name} {num(top1)}%'
                               for name, top1 in data['references'].items())
        gap_std = data.get('gap_std', {})
        gaps = ', '.join(f'{name} {plus_minus(gap, gap_std.get(name), sign=True)}'
                         for name, gap in data['gaps'].items())
        setting = (
            f'Sources trained on {data["source_images"]} Fashion-MNIST images of the five '
            f'classes that are not tops (source test top-1: {sources}); the pretrained '
            f'references are the target architectures trained alike (source test top-1: '
            f'{references}), then given the random init\'s head. Targets fine-tuned {epochs(n)} '
            f'on the five tops, {data["labels_per_class"]} labelled images each '
            f'({data["target_images"]} in all), at {data["size"]} px, and tested on '
            f'{data["test_images"]} tops of Fashion-MNIST\'s test split; {over}. Share of the '
            f'pretraining gain: (transfer − random) / (pretrained − random) top-1 after '
            f'{epochs(n)}: 1 is as good as pretraining the target itself on the source, 0 no '
            f'better than random init (n/a where pretraining gained nothing). Pretraining gap '
            f'(pretrained − random top-1, points) per target: {gaps}; the goal is a mean '
            f'share ≥ {num(data["share_goal"], 1)} for DPIAT and TLI, no pair below 0, where '
            f'the gap is ≥ {data["gap_goal"]} points (the summary\'s "gap ≥ '
            f'{data["gap_goal"]}" columns).')
    return '\n\n'.join([
        f'![{TITLE}]({FIGURE})',
        f'Produced by {provenance(data)}. {setting} Ratio: top-1 after {epochs(n)} from the '
        f'transfer / from random init (DPIAT\'s effectiveness); on the random-init row, its '
        f'ceiling 1 / random top-1, the highest ratio any init could reach there.',
        table(['pair (DPIAT similarity)', 'init', 'coverage %', 'transfer s',
               f'top-1 after {epochs(first)}', f'top-1 after {n}', 'ratio',
               'share of pretraining gain'],
              rows),
        table(['method', 'mean ratio', 'min ratio', 'pairs above 1', 'mean share', 'min share',
               'pairs below 0', f'gap ≥ {data["gap_goal"]}: mean share', 'min share',
               'pairs below 0', 'per-seed mean share', 'mean coverage %', 'mean transfer s'],
              summary),
        f'Best on average: {data["best_method"]} (mean ratio {num(best["mean_ratio"])}'
        + (f'; mean ceiling {num(data["mean_ceiling"])}).' if data.get('mean_ceiling') else ').')])
