"""Section 4: heterogeneous weight transfer (HMT, DPIAT, TLI) against random init and against
pretraining the target itself.

The class split the search uses (:data:`TARGET`, ``analysis.smallnets.load_transfer_data``):
sources (small super-network children of other families, depths and widths) are trained on the
five Fashion-MNIST classes that are not tops; each target is initialised from its source by
every method (the head excepted: other labels) and fine-tuned on the five tops with few labels
(``transfer_target_images`` in all, a fifth per class), next to the same target from the same
random init with the same data order, and next to the pretrained reference: the target
architecture itself trained on the source data like the sources, its head replaced by the
random init's. Measured: target test top-1 after every epoch (after re-estimating BatchNorm
statistics on the target's training images, for every model alike), the fraction of target
tensors the method wrote (coverage), the seconds the transfer took, DPIAT's effectiveness
(top-1 after N epochs from the transfer / from random init), the pretraining gap (pretrained -
random top-1) and the share of it a transfer recovers, (transfer - random) / (pretrained -
random). One seed (the report's); ``benchmarks/transfer_effectiveness.py`` runs several.
"""
from __future__ import annotations

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
from supernet.engine.progress import progress
from transfer import METHODS, similarity

from .render import epochs, figure, num, provenance, save, table

KEY = 'transfer'
TITLE = '4. Heterogeneous transfer: HMT, DPIAT, TLI vs random init'
FIGURE = 'transfer.png'
LR, BATCH, SOURCE_BATCH = 1e-3, 32, 64  # Adam, as benchmarks/transfer_effectiveness.py
# The class split, where pretraining on the source is worth several points (the digits target
# saturates: random init reaches 96-98 % there, so no init could show anything).
TARGET = 'tops'
METHOD_ORDER = sorted(METHODS)
COLORS = {'random': 'k', 'pretrained': '0.45', 'dpiat': 'C0', 'hmt': 'C1', 'tli': 'C2'}


def compute(ctx, report: dict) -> dict:
    s = ctx.settings
    for source, target in s.transfer_pairs:
        if source not in SOURCE_NETS or target not in TARGET_NETS:
            raise KeyError(f'transfer pair {source} -> {target}: sources are '
                           f'{sorted(SOURCE_NETS)}, targets {sorted(TARGET_NETS)}')
    data = load_transfer_data(s.transfer_source_images, s.transfer_target_images,
                              s.transfer_test_images, s.transfer_size, seed=ctx.seed,
                              target=TARGET)

    def top1(model, x, y, recalibrate_on=None) -> float:
        return round(100 * accuracy(model, x, y, recalibrate_on=recalibrate_on), 2)

    def fine_tune(model) -> list:
        return train_classifier(model, data.target_x, data.target_y, s.transfer_epochs,
                                ctx.seed, LR, BATCH,
                                lambda m: top1(m, data.target_test_x, data.target_test_y,
                                                 recalibrate_on=data.target_x),
                                s.transfer_evaluate_every)

    def target_init(name):
        torch.manual_seed(ctx.seed)  # the same random init for every source and method
        return Classifier(*TARGET_NETS[name], num_classes=data.target_classes)

    def pretrain(spec):  # the sources and the pretrained references alike
        return train_source(spec, data, s.transfer_source_epochs, ctx.seed, LR, SOURCE_BATCH)

    sources = {name: pretrain(SOURCE_NETS[name]) for name in progress(
        dict.fromkeys(src for src, _ in s.transfer_pairs), 'transfer: sources')}
    source_top1 = {name: top1(m, data.source_test_x, data.source_test_y)
                   for name, m in sources.items()}
    references = {name: pretrain(TARGET_NETS[name]) for name in progress(
        dict.fromkeys(target for _, target in s.transfer_pairs), 'transfer: pretrained targets')}
    reference_top1 = {name: top1(m, data.source_test_x, data.source_test_y)
                      for name, m in references.items()}

    random_curves, pretrained_curves, pairs = {}, {}, []
    for source, target in progress(s.transfer_pairs, 'transfer: pairs'):
        if target not in random_curves:
            random_curves[target] = fine_tune(target_init(target))
            pretrained_curves[target] = fine_tune(
                with_pretrained_backbone(target_init(target), references[target]))
        random, pretrained = random_curves[target], pretrained_curves[target]
        methods = {}
        for method in METHOD_ORDER:
            model = target_init(target)
            transfer_report, seconds = timed_transfer(sources[source], model, method)
            curve = fine_tune(model)
            methods[method] = dict(curve=curve, top1=curve[-1],
                                   ratio=round(curve[-1] / random[-1], 2),
                                   share=rounded(share_of_gain(curve[-1], random[-1],
                                                               pretrained[-1])),
                                   coverage=round(100 * transfer_report.coverage, 1),
                                   seconds=round(seconds, 2))
        pairs.append(dict(source=source, target=target,
                          similarity=round(similarity(sources[source], target_init(target)), 2),
                          random=dict(curve=random, top1=random[-1],
                                      ceiling=round(100 / random[-1], 2) if random[-1] else None),
                          pretrained=dict(curve=pretrained, top1=pretrained[-1],
                                          ratio=round(pretrained[-1] / random[-1], 2),
                                          gap=round(pretrained[-1] - random[-1], 2)),
                          methods=methods))
    summary = {}
    for method in METHOD_ORDER:
        ratios = [p['methods'][method]['ratio'] for p in pairs]
        # None: no pair where pretraining gained anything, so no share to average
        shares = [p['methods'][method]['share'] for p in pairs
                  if p['methods'][method]['share'] is not None]
        summary[method] = dict(
            mean_ratio=round(float(np.mean(ratios)), 2), min_ratio=min(ratios),
            pairs_above_1=sum(r > 1 for r in ratios),
            mean_share=round(float(np.mean(shares)), 2) if shares else None,
            min_share=min(shares) if shares else None,
            pairs_below_0=sum(v < 0 for v in shares),
            mean_coverage=round(float(np.mean([p['methods'][method]['coverage']
                                               for p in pairs])), 1),
            mean_seconds=round(float(np.mean([p['methods'][method]['seconds']
                                              for p in pairs])), 2))
    # 1 / random top-1 is the most any init could reach: a target that random init already
    # trains to 98% caps every method's ratio at 1.02.
    ceilings = [p['random']['ceiling'] for p in pairs]
    mean_ceiling = round(float(np.mean(ceilings)), 2) if None not in ceilings else None
    gaps = {target: round(pretrained_curves[target][-1] - random_curves[target][-1], 2)
            for target in random_curves}
    return dict(epochs=s.transfer_epochs, size=s.transfer_size, mean_ceiling=mean_ceiling,
                tested_epochs=evaluated_epochs(s.transfer_epochs, s.transfer_evaluate_every),
                target=TARGET, labels_per_class=len(data.target_x) // data.target_classes,
                source_images=len(data.source_x), target_images=len(data.target_x),
                test_images=len(data.target_test_x), sources=source_top1,
                references=reference_top1, gaps=gaps, min_gap=min(gaps.values()),
                share_goal=SHARE_GOAL, gap_goal=GAP_GOAL, pairs=pairs,
                summary=summary, methods=METHOD_ORDER,
                best_method=max(METHOD_ORDER, key=lambda m: summary[m]['mean_ratio']))


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
    axes[0][0].set_ylabel('target test top-1 (%)')
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
        ceiling = p['random'].get('ceiling')  # absent from reports made before it existed
        rows.append([pair, 'random init', '–', '–', num(p['random']['curve'][0]),
                     num(p['random']['top1']), f'≤ {num(ceiling)}' if ceiling else '–', '–'])
        reference = p.get('pretrained')  # absent from reports made before it existed
        if reference:
            rows.append(['', 'pretrained (same arch.)', '–', '–', num(reference['curve'][0]),
                         num(reference['top1']), num(reference['ratio']),
                         f'gap {num(reference["gap"], sign=True)}'])
        for method in data['methods']:
            m = p['methods'][method]
            no_share = 'n/a: gap ≤ 0' if reference else '–'
            rows.append(['', method, num(m['coverage'], 1), num(m['seconds']),
                         num(m['curve'][0]), num(m['top1']), num(m['ratio']),
                         no_share if m.get('share') is None else num(m['share'])])
    summary = [[m, num(s['mean_ratio']), num(s['min_ratio']),
                f'{s["pairs_above_1"]} of {len(data["pairs"])}', num(s.get('mean_share')),
                num(s.get('min_share')), str(s.get('pairs_below_0', '–')),
                num(s['mean_coverage'], 1), num(s['mean_seconds'])]
               for m, s in data['summary'].items()]
    sources = ', '.join(f'{name} {num(top1)}%' for name, top1 in data['sources'].items())
    best = data['summary'][data['best_method']]
    if data.get('target', 'digits') == 'digits':  # reports made before the tops target
        setting = (f'Sources trained on {data["source_images"]} Fashion-MNIST images (test '
                   f'top-1: {sources}); targets fine-tuned {epochs(n)} on '
                   f'{data["target_images"]} digits at {data["size"]} px and tested on '
                   f'{data["test_images"]}.')
    else:
        references = ', '.join(f'{name} {num(top1)}%'
                               for name, top1 in data['references'].items())
        gaps = ', '.join(f'{name} {num(gap, sign=True)}' for name, gap in data['gaps'].items())
        setting = (
            f'Sources trained on {data["source_images"]} Fashion-MNIST images of the five '
            f'classes that are not tops (source test top-1: {sources}); the pretrained '
            f'references are the target architectures trained alike (source test top-1: '
            f'{references}), then given the random init\'s head. Targets fine-tuned {epochs(n)} '
            f'on the five tops, {data["labels_per_class"]} labelled images each '
            f'({data["target_images"]} in all), at {data["size"]} px, and tested on '
            f'{data["test_images"]} tops of Fashion-MNIST\'s test split. Share of the '
            f'pretraining gain: (transfer − random) / (pretrained − random) top-1 after '
            f'{epochs(n)}: 1 is as good as pretraining the target itself on the source, 0 no '
            f'better than random init (n/a where pretraining gained nothing). Pretraining gap '
            f'(pretrained − random top-1, points) per target: {gaps}; issue 15 asks for a mean '
            f'share ≥ {num(data["share_goal"], 1)} for DPIAT and TLI, no pair below 0, where '
            f'the gap is ≥ {data["gap_goal"]} points (one seed here; '
            f'`benchmarks/transfer_effectiveness.py` runs several).')
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
               'pairs below 0', 'mean coverage %', 'mean transfer s'], summary),
        f'Best on average: {data["best_method"]} (mean ratio {num(best["mean_ratio"])}'
        + (f'; mean ceiling {num(data["mean_ceiling"])}).' if data.get('mean_ceiling') else ').')])
