"""The super-network recipe benchmarks in reduced form: the cost of a recipe's step, side by
side, and the weight-sharing gap after transfer per arm through the report's own code."""
import json

import pytest
from conftest import ROOT, load_script

from engine.recipes import RECIPES

supernet_recipes = load_script(ROOT / 'benchmarks/supernet_recipes.py')
weight_sharing_gap = load_script(ROOT / 'benchmarks/weight_sharing_gap.py')


def test_recipe_cost_is_measured_side_by_side_and_counted():
    rows = {r['recipe']: r for r in supernet_recipes.main(
        ['--recipes', 'sandwich_distill', '--steps', '1', '--batch', '2'])}
    assert list(rows) == ['uniform', 'sandwich_distill']  # uniform always, as the reference
    assert rows['uniform']['measured_ratio'] == 1.0 == rows['uniform']['counted_ratio']
    # the largest, two drawn and the smallest per step: about four uniform steps of work
    assert 3.0 < rows['sandwich_distill']['counted_ratio'] < 5.0
    assert rows['sandwich_distill']['measured_ratio'] > 1.0
    assert rows['sandwich_distill']['iters_at_budget'] == int(
        600 * 1.5 / rows['sandwich_distill']['measured_ratio'])


def test_counted_cost_of_a_uniform_draw_is_the_count_at_the_mean_depths():
    from supernet import get_space
    from supernet.extract import count_complexity
    space = get_space('resnet_bottleneck_demo')  # mean depths (4.5, 5.5, 18.5, 7.5)
    uniform = supernet_recipes.expected_macs(space, RECIPES['uniform'], 28)
    below, above = ((4, 5, 18, 7), (5, 6, 19, 8))
    # FLOPs are linear in the depths, so the mean depths cost the mean of these two
    counted = [count_complexity(space, depths, 28)['flops'] for depths in (below, above)]
    assert uniform == pytest.approx(sum(counted) / 2, rel=1e-9)
    sandwich = supernet_recipes.expected_macs(space, RECIPES['sandwich'], 28)
    largest = count_complexity(space, space.max_depths, 28)['flops']
    smallest = count_complexity(space, space.min_depths, 28)['flops']
    assert sandwich == pytest.approx(largest + smallest + 2 * uniform, rel=1e-9)


@pytest.mark.slow
def test_the_reduced_gap_benchmark_pairs_every_arm_with_start_iii(tmp_path):
    out = tmp_path / 'gap'
    results = weight_sharing_gap.main(['--out', str(out), '--reduced', '--data-root',
                                       str(tmp_path / 'data'), '--arms', 'today',
                                       'distill_alone', 'sandwich_distill'])
    saved = json.loads((out / 'gap.json').read_text())
    assert [r['arm'] for r in saved['arms']] == ['today', 'distill_alone', 'sandwich_distill']
    iii = saved['target_iii']
    for r in results:
        assert r['gap']['diffs'] == [round(a - b, 2) for a, b in zip(r['target_ii'], iii)]
        assert r['source_gap'] == round(r['source_alone'] - r['source_inherited'], 2)
    # start iii trained once, in the shared folder every arm links to
    assert (out / 'distill_alone/source').is_dir()
    assert sorted(p.name for p in (out / 'alone/source').glob('*_alone.json')) == ['1-2-2-1_alone.json']
    assert results[2]['supernet_recipe'] == 'sandwich_distill' and results[2]['supernet_iters'] == 2
    # a second invocation keeps the other arms and reuses what was trained
    weight_sharing_gap.main(['--out', str(out), '--reduced', '--data-root',
                             str(tmp_path / 'data'), '--arms', 'today'])
    assert [r['arm'] for r in json.loads((out / 'gap.json').read_text())['arms']] == [
        'distill_alone', 'sandwich_distill', 'today']
