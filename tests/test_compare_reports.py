"""tools/compare_reports.py on the reduced report: verdicts side by side, flips found, pooling
only where it is sound, one-line errors."""
import copy

import numpy as np
import pytest

from conftest import ROOT, run_tool
from reproduce.rerun import compare, load, markdown, verdicts
from reproduce.searches import paired_difference


def rerun_of(report: dict, shift: int) -> dict:
    """``report`` as if run with another base seed: its target seeds moved by ``shift``."""
    other = copy.deepcopy(report)
    other['meta']['seed'] += shift
    other['meta']['data']['target_seeds'] = [s + shift for s in report['meta']['data']
                                             ['target_seeds']]
    return other


def set_diffs(report: dict, index: int, diffs: list):
    """The headline's ``index``-th comparison with these per-seed differences."""
    report['sections']['headline']['comparisons'][index].update(paired_difference(diffs))


def test_verdicts_side_by_side_find_the_flip_and_pool_disjoint_seeds(report):
    out, _, _ = report
    first = load(out)
    assert first['path'] == str(out / 'report.json')
    second = rerun_of(first, shift=100)
    n = len(first['meta']['data']['target_seeds'])
    set_diffs(first, 0, [3.0 + 0.1 * k for k in range(n)])     # won
    set_diffs(second, 0, [-3.0 - 0.1 * k for k in range(n)])   # lost
    set_diffs(first, 1, [1.0 + 0.2 * k for k in range(n)])
    set_diffs(second, 1, [1.5 - 0.2 * k for k in range(n)])    # both won
    result = compare([first, second])
    names = list(verdicts(first))
    assert [row['name'] for row in result['rows']] == names
    assert len(names) == len(first['sections']['headline']['comparisons']) + \
        2 * len(first['sections']['search']['comparisons'])
    flipped, kept = result['rows'][0], result['rows'][1]
    assert not flipped['agree'] and [e['verdict'] for e in flipped['runs']] == ['ahead', 'behind']
    assert kept['agree']
    # pooling: every run's per-seed differences as one sample
    assert result['poolable'] and not result['settings_differ']
    pooled = [1.0 + 0.2 * k for k in range(n)] + [1.5 - 0.2 * k for k in range(n)]
    assert kept['pooled']['mean'] == round(float(np.mean(pooled)), 2)
    assert kept['pooled']['se'] == round(float(np.std(pooled, ddof=1) / np.sqrt(2 * n)), 2)
    text = markdown(result)
    assert f'pooled, {2 * n} seeds' in text and '**flipped**' in text
    agreeing = sum(row['agree'] for row in result['rows'])
    assert agreeing < len(names) and f'{agreeing} of {len(names)} verdicts are the same' in text
    assert flipped['name'] in text.split('Flipped')[1]


def test_no_pooling_over_shared_seeds_or_different_settings(report):
    first = load(report[0])
    same_seeds = compare([first, copy.deepcopy(first)])
    assert not same_seeds['poolable'] and all(r['agree'] for r in same_seeds['rows'])
    assert all(r['pooled'] is None for r in same_seeds['rows'])
    warm = rerun_of(first, shift=100)
    warm['meta']['settings']['warm_start'] = not first['meta']['settings']['warm_start']
    ab = compare([first, warm])
    assert list(ab['settings_differ']) == ['warm_start'] and not ab['poolable']
    n = len(first['meta']['data']['target_seeds'])
    set_diffs(first, 0, [2.0 + 0.1 * k for k in range(n)])
    set_diffs(warm, 0, [-2.0 - 0.1 * k for k in range(n)])  # as if the setting turned it
    text = markdown(compare([first, warm]))
    assert 'Settings differ (an A/B of them, not a rerun): `warm_start`' in text
    assert "Flipped (the setting's effect or the draw's" in text
    older = rerun_of(first, shift=100)  # made before a setting existed: it ran at today's default
    del older['meta']['settings']['warm_start']
    assert compare([first, older])['poolable']
    older['meta']['settings']['warm_start'] = True
    assert list(compare([first, older])['settings_differ']) == ['warm_start']


def test_tool_writes_the_table_and_refuses_bad_input(report, tmp_path):
    out = report[0]
    written = tmp_path / 'verdicts.md'
    result = run_tool(ROOT / 'tools/compare_reports.py', out, out / 'report.json',
                      '--out', written)
    assert written.read_text() == result.stdout
    rows = [line for line in result.stdout.splitlines()
            if line.startswith('| ') and line.endswith(' yes |')]
    assert len(rows) == len(verdicts(load(out)))
    one = run_tool(ROOT / 'tools/compare_reports.py', out, check=False)
    assert one.returncode == 2 and 'compare at least two' in one.stderr
    missing = run_tool(ROOT / 'tools/compare_reports.py', out, tmp_path / 'none', check=False)
    assert missing.returncode == 2 and 'no such report' in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_report_without_the_headline_is_refused(tmp_path):
    (tmp_path / 'report.json').write_text('{"meta": {}, "sections": {}}')
    with pytest.raises(ValueError, match='without the headline section'):
        load(tmp_path)
