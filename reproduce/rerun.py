"""Do a report's verdicts survive a rerun? Two or more ``report.json`` files (typically the same
settings with another ``--seed``: another super-network, other target draws) side by side:
every won / tied / lost of the headline and of the search section in each run, whether the runs
agree, and the per-seed differences of all runs pooled (when their target seeds are disjoint
and their settings equal). A verdict that flips between runs is a property of the draw, not a
finding (``tools/compare_reports.py``).
"""
from __future__ import annotations

import json
from pathlib import Path

from . import headline
from .render import num, plus_minus, table
from .searches import paired_difference
from .settings import FULL, REDUCED

PARTS = {'rescore_top1': 'rescore part', 'test_top1': 'test top-1'}
# keys of report.json renamed since earlier runs wrote them (old name -> new)
RENAMED_SETTINGS = {'child_epochs': 'subnet_epochs', 'child_finetunes': 'subnet_finetunes'}


def load(path) -> dict:
    """A ``report.json`` (or the folder holding one), with one line of error otherwise."""
    path = Path(path)
    path = path / 'report.json' if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no such report (a tools/report.py output folder or '
                                'its report.json)')
    report = json.loads(path.read_text())
    if 'headline' not in report.get('sections', {}):
        raise ValueError(f'{path}: a report without the headline section (made before it '
                         'existed?): nothing to compare')
    return dict(report, path=str(path))


def verdicts(report: dict) -> dict:
    """Every paired comparison of a report, by name: ``diffs``, ``mean``, ``se``, ``verdict``
    (``'ahead'``, ``'tie'``, ``'behind'``)."""
    top = report['sections']['headline']
    out = {}
    for c in top['comparisons']:
        name = (f'{headline.label(*c["a"], top["default"])} − '
                f'{headline.label(*c["b"], top["default"])}')
        out[name] = {k: c[k] for k in ('diffs', 'mean', 'se', 'verdict')}
    for c in report['sections']['search']['comparisons']:
        for part, part_name in PARTS.items():
            out[f'search: {c["a"]} − {c["b"]}, {part_name}'] = c[part]
    return out


def diagnostics(report: dict) -> dict:
    """Diagnostics 3a (mean gap) and 3b (largest SE) with their goals and whether met."""
    top = report['sections']['headline']
    quality, resolution = top['quality'], top['resolution']
    return {f'3a mean gap, trained alone − inherited (goal ≤ {num(quality["gap_goal"])})':
            (quality['mean_gap'], quality['met']),
            f'3b largest paired SE, searched vs default (goal ≤ {num(resolution["se_goal"])})':
            (resolution['max_se'], resolution['met'])}


def settings_of(report: dict) -> dict:
    """A run's settings as its JSON holds them; a setting added since the run takes its mode's
    value today (settings are added with the default that keeps what runs did before them, e.g.
    ``warm_start=False``)."""
    saved = {RENAMED_SETTINGS.get(k, k): v for k, v in report['meta']['settings'].items()}
    today = (FULL if saved.get('mode') == 'full' else REDUCED).to_dict()
    return {**json.loads(json.dumps(today)), **saved}  # through JSON: tuples read as lists


def settings_differences(reports: list) -> dict:
    """``{setting: [value per run]}`` for every setting that is not the same in all runs."""
    settings = [settings_of(r) for r in reports]
    values = {k: [run.get(k) for run in settings] for k in dict.fromkeys(k for run in settings
                                                                          for k in run)}
    return {k: v for k, v in values.items() if any(x != v[0] for x in v)}


def target_seeds(report: dict) -> list:
    return report['meta']['data']['target_seeds']


def compare(reports: list) -> dict:
    """Every comparison present in all ``reports``: each run's entry, whether their verdicts
    agree, and (``poolable``) all runs' per-seed differences as one paired difference."""
    if len(reports) < 2:
        raise ValueError(f'reports: {len(reports)} given; compare at least two')
    differing = settings_differences(reports)
    seeds = [s for r in reports for s in target_seeds(r)]
    # the same target seed twice is the same draw of target images: pooling would count it twice
    poolable = not differing and len(seeds) == len(set(seeds))
    per_run = [verdicts(r) for r in reports]
    per_run_diagnostics = [diagnostics(r) for r in reports]
    rows = []
    for name in per_run[0]:
        if not all(name in v for v in per_run):
            continue
        entries = [v[name] for v in per_run]
        pooled = paired_difference([d for e in entries for d in e['diffs']]) if poolable \
            else None
        rows.append(dict(name=name, runs=entries, pooled=pooled,
                         agree=len({e['verdict'] for e in entries}) == 1))
    return dict(runs=[dict(path=r['path'], command=r['meta']['command'], seed=r['meta']['seed'],
                           target_seeds=target_seeds(r), finished=r['meta'].get('finished'),
                           minutes=r['meta'].get('minutes'))
                      for r in reports],
                settings_differ=differing, poolable=poolable, rows=rows,
                diagnostics={name: [d[name] for d in per_run_diagnostics]
                             for name in per_run_diagnostics[0]})


def _run_cell(entry: dict) -> str:
    verdict = headline.VERDICTS[entry['verdict']]
    return f'{plus_minus(entry["mean"], entry["se"], sign=True)} {verdict}'


def markdown(comparison: dict) -> str:
    runs = comparison['runs']
    letters = [chr(ord('A') + k) for k in range(len(runs))]
    described = [f'* {letter}: `{run["command"]}` (seed {run["seed"]}, target seeds '
                 f'{", ".join(map(str, run["target_seeds"]))}; finished {run["finished"]}, '
                 f'{num(run["minutes"], 1)} min) — {run["path"]}'
                 for letter, run in zip(letters, runs)]
    differ = comparison['settings_differ']
    settings = ('Same settings in every run.' if not differ else
                'Settings differ (an A/B of them, not a rerun): ' + '; '.join(
                    f'`{k}` ' + ' vs '.join(repr(v) for v in values)
                    for k, values in differ.items()) + '.')
    pooled_n = sum(len(run['target_seeds']) for run in runs)
    headers = ['comparison (points, mean ± paired SE)'] + letters + ['same verdict?']
    if comparison['poolable']:
        headers.append(f'pooled, {pooled_n} seeds')
    body = []
    for row in comparison['rows']:
        cells = [row['name']] + [_run_cell(e) for e in row['runs']]
        cells.append('yes' if row['agree'] else '**flipped**')
        if comparison['poolable']:
            cells.append(_run_cell(row['pooled']))
        body.append(cells)
    flips = [row['name'] for row in comparison['rows'] if not row['agree']]
    agree = len(comparison['rows']) - len(flips)
    # in a rerun a flip is the draw's; in an A/B it may be the setting's or the draw's
    why = ('the setting\'s effect or the draw\'s: a rerun of each setting tells which'
           if differ else 'a property of the draw, not a finding')
    summary = (f'{agree} of {len(comparison["rows"])} verdicts are the same in every run.'
               + (f' Flipped ({why}): ' + '; '.join(flips) + '.' if flips else ''))
    diagnostic_rows = [[name] + [f'{num(value, sign=name.startswith("3a"))} '
                                 f'({"met" if met else "missed"})'
                                 for value, met in values]
                       for name, values in comparison['diagnostics'].items()]
    pooling = ('The pooled column treats all runs\' target seeds as one sample. The seeds of '
               'one run share its super-network, which this SE does not model: it may '
               'understate the spread.' if comparison['poolable']
               else 'No pooled column: the runs share target seeds or differ in settings.')
    return '\n\n'.join(['# Verdicts across runs', '\n'.join(described), settings,
                        table(headers, body), summary, pooling,
                        table(['diagnostic'] + letters, diagnostic_rows)]) + '\n'
