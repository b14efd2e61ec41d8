"""Beam greedy search (``beam=k``) and tie handling, on cheap synthetic evaluators.

The expected evaluations are recomputed here by simulating the beam over plain tuples and dicts,
independently of :mod:`search.greedy`.
"""
import json
import math

import numpy as np
import pytest

from conftest import Counting
from search import SearchLog, exhaustive_search, greedy_search

PAPER = 'resnet_bottleneck'  # the paper's ResNet space
MAX = (8, 10, 36, 14)
C = 16


def smooth(a):
    """Concave per-stage gains plus pairwise interactions; no two allocations score the same."""
    w = (1.3, 2.1, 2.9, 1.7)
    return (sum(wi * math.log(d) for wi, d in zip(w, a))
            + 0.037 * a[0] * a[3] - 0.011 * a[1] * a[2] + 0.0013 * a[2] ** 1.5)


def fills_stage_0(a):
    """Stage 0 is worth most, so it reaches its maximum (8) and its subnets get skipped."""
    return 10.0 * a[0] + smooth(a)


def simulate(score, k, max_depths=MAX, limit=C):
    """Alg. 1 with a beam of ``k``: the evaluated allocations in order, and the best per size."""
    ns = len(max_depths)
    kept, evaluated, best = [(1,) * ns], [], [(1,) * ns]
    for _ in range(limit - ns):
        frontier = {}
        for p in kept:
            for i in range(ns):
                if p[i] < max_depths[i]:
                    subnet = p[:i] + (p[i] + 1,) + p[i + 1:]
                    frontier.setdefault(subnet, score(subnet))
        if not frontier:
            break
        assert len(set(frontier.values())) == len(frontier)  # no ties: the top k is unambiguous
        evaluated += list(frontier)
        kept = sorted(frontier, key=frontier.get, reverse=True)[:k]
        best.append(kept[0])
    return evaluated, best


def growable(a, max_depths=MAX):
    return sum(d < m for d, m in zip(a, max_depths))


@pytest.mark.parametrize('score', [smooth, fills_stage_0])
@pytest.mark.parametrize('beam', [1, 2, 3])
def test_evaluations_are_the_simulated_beam_each_once(score, beam):
    evaluate = Counting(score)
    result = greedy_search(PAPER, C, evaluate, counter=False, beam=beam)
    expected, best = simulate(score, beam)
    assert evaluate.calls == expected  # same allocations, same order
    assert len(set(evaluate.calls)) == len(evaluate.calls) == result.num_evaluated
    assert [r.allocation for r in result.history] == expected
    assert [r.allocation for r in result.chain] == best and result.best.allocation == best[-1]
    assert sum(result.best.allocation) == C and result.ties == []
    assert result.settings == {'beam': beam, 'tie_tolerance': 0.0, 'seed': 0}
    # The documented bound: at most beam * ns per step, ns at step 1.
    per_step = [sum(r.step == s for r in result.history) for s in range(1, C - 4 + 1)]
    assert per_step[0] == 4 and all(n <= beam * 4 for n in per_step)
    if beam == 1:  # Alg. 1: one evaluation per growable stage of the chain's parent
        assert result.num_evaluated == sum(growable(r.allocation) for r in result.chain[:-1])
    if score is fills_stage_0:
        assert max(a[0] for a in evaluate.calls) == 8 and result.best.allocation[0] == 8


def test_beam_2_at_16_blocks_counts_by_the_documented_formula():
    """Each step evaluates the subnets of its two parents, minus the one they share when they
    differ by one moved block; the two kept after step 1 always do."""
    evaluate = Counting(fills_stage_0)
    result = greedy_search(PAPER, C, evaluate, counter=False, beam=2)
    steps = {}
    for r in result.history:
        steps.setdefault(r.step, []).append(r)
    expected = len(steps[1])
    for step in range(2, C - 4 + 1):
        parents = sorted(steps[step - 1], key=lambda r: -r.score)[:2]
        a, b = (p.allocation for p in parents)
        shared = sum(abs(x - y) for x, y in zip(a, b)) == 2  # max(a, b) is a subnet of both
        assert len(steps[step]) == growable(a) + growable(b) - shared
        if step == 2:
            assert shared
        expected += len(steps[step])
    assert result.num_evaluated == len(evaluate.calls) == expected == len(set(evaluate.calls))
    assert expected < 4 + 11 * 8  # fewer than k * ns per step: sharing and skipping


class StepEvaluator:
    """Has ``evaluate_step``; records each call's parent and subnets."""

    def __init__(self, score):
        self.score, self.steps = score, []

    def __call__(self, allocation):
        raise AssertionError('greedy should call evaluate_step')

    def evaluate_step(self, parent, subnets):
        self.steps.append((parent, list(subnets)))
        for subnet in reversed(subnets):
            yield subnet, self.score(subnet)


def test_evaluate_step_is_called_per_parent_and_never_asked_twice():
    evaluator = StepEvaluator(smooth)
    result = greedy_search(PAPER, C, evaluator, counter=False, beam=2)
    asked = [c for _, subnets in evaluator.steps for c in subnets]
    assert len(asked) == len(set(asked)) == result.num_evaluated == len(simulate(smooth, 2)[0])
    for parent, subnets in evaluator.steps:
        assert all(sum(c) == sum(parent) + 1 and all(x >= p for x, p in zip(c, parent))
                   for c in subnets)
    # Two parents per step after the first, unless the second one's subnets were all taken.
    assert len(evaluator.steps) > C - 4
    assert [r.allocation for r in result.chain] == simulate(smooth, 2)[1]


def test_beam_finds_what_alg_1_misses():
    # One block in stage 0 pays at once; three in stage 2 pay more, but only from 3 on.
    def trap(a):
        return (a[0] >= 2) + 3.0 * (a[2] >= 3) + 0.1 * a[2] + 0.01 * a[1] + 0.001 * a[3]

    one = greedy_search('resnet_basic', 6, trap, counter=False)
    two = greedy_search('resnet_basic', 6, trap, counter=False, beam=2)
    optimum = exhaustive_search('resnet_basic', 6, trap, counter=False).best
    assert one.best.score < two.best.score == optimum.score


class Crash(Exception):
    pass


class Crashing(Counting):
    def __init__(self, fn, crash_at=None):
        super().__init__(fn)
        self.crash_at = crash_at

    def __call__(self, allocation):
        if self.crash_at is not None and len(self.calls) + 1 == self.crash_at:
            raise Crash(allocation)
        return super().__call__(allocation)


@pytest.mark.parametrize('crash_at', [1, 6, 40, len(simulate(fills_stage_0, 2)[0])])
def test_beam_resumes_from_its_log(tmp_path, crash_at):
    expected, best = simulate(fills_stage_0, 2)
    path = tmp_path / 'search.jsonl'
    first = Crashing(fills_stage_0, crash_at)
    with pytest.raises(Crash):
        greedy_search(PAPER, C, first, log=path, counter=False, beam=2)
    assert len(SearchLog(path)) == crash_at - 1
    second = Counting(fills_stage_0)
    resumed = greedy_search(PAPER, C, second, log=path, counter=False, beam=2)
    assert not set(first.calls) & set(second.calls)
    assert first.calls + second.calls == expected
    assert resumed.num_reused == crash_at - 1
    assert resumed.num_evaluated == len(expected) - (crash_at - 1)
    assert [r.allocation for r in resumed.chain] == best
    third = Counting(fills_stage_0)
    again = greedy_search(PAPER, C, third, log=path, counter=False, beam=2)
    assert third.calls == [] and again.best == resumed.best
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    records = [line for line in lines[1:] if 'pick' not in line]
    assert len(records) == len({tuple(r['allocation']) for r in records}) == len(expected)
    # one pick per step: the two runs that settled the same steps again wrote none
    picks = [line['pick'] for line in lines if 'pick' in line]
    assert [p['allocation'] for p in picks] == [list(a) for a in best[1:]]


def test_one_log_serves_any_beam(tmp_path):
    """Scores depend on the allocation only, so a beam-2 search reuses a beam-1 search's log."""
    path = tmp_path / 'search.jsonl'
    greedy_search(PAPER, C, smooth, log=path, counter=False)
    narrow = set(simulate(smooth, 1)[0])
    evaluate = Counting(smooth)
    wide = greedy_search(PAPER, C, evaluate, log=path, counter=False, beam=2)
    expected = simulate(smooth, 2)[0]
    assert evaluate.calls == [a for a in expected if a not in narrow]
    assert wide.num_reused == len(narrow & set(expected)) > 0
    assert wide.settings['beam'] == 2


def test_exact_ties_are_not_settled_by_stage_index():
    flat = lambda a: 0.0  # noqa: E731 (every candidate ties)
    results = [greedy_search(PAPER, C, flat, counter=False, seed=s) for s in range(20)]
    # Stage-index tie-breaking always grew stage 0 first and ended at (8, 6, 1, 1).
    first_steps = {r.chain[1].allocation for r in results}
    assert len(first_steps) >= 3
    assert np.mean([r.best.allocation[3] for r in results]) > 2
    # Every step is a tie of all its candidates, reported in the order the search took them.
    for r in results[:3]:
        assert [t['step'] for t in r.ties] == list(range(1, C - 4 + 1))
        for t, chosen in zip(r.ties, r.chain[1:]):
            assert sorted(t['allocations']) == sorted(h.allocation for h in r.history
                                                      if h.step == t['step'])
            assert t['allocations'][0] == chosen.allocation
    # Deterministic for a seed.
    again = greedy_search(PAPER, C, flat, counter=False, seed=7)
    assert [h.allocation for h in again.history] == [h.allocation for h in results[7].history]
    assert again.ties == results[7].ties


def test_tie_tolerance_counts_near_ties_only():
    # Stages 1-3 differ by at most 0.03 per block; stage 0 is a full point worse.
    def near(a):
        return -a[0] + 0.01 * a[1] + 0.02 * a[2] + 0.04 * a[3]

    exact = greedy_search('resnet_basic', 6, near, counter=False)
    assert exact.ties == [] and exact.chain[1].allocation == (1, 1, 1, 2)
    chosen = set()
    for seed in range(12):
        loose = greedy_search('resnet_basic', 6, near, counter=False, tie_tolerance=0.05,
                              seed=seed)
        assert sorted(loose.ties[0]['allocations']) == [(1, 1, 1, 2), (1, 1, 2, 1), (1, 2, 1, 1)]
        chosen.add(loose.chain[1].allocation)
    assert len(chosen) >= 2 and (2, 1, 1, 1) not in chosen


def test_beam_carries_the_tied_candidates():
    evaluator = StepEvaluator(lambda a: 0.0)
    result = greedy_search('resnet_basic', 7, evaluator, counter=False, beam=2, seed=3)
    step1 = result.ties[0]['allocations']
    assert len(step1) == 4
    # Step 2 grows the first two tied candidates of step 1, in that order.
    assert [parent for parent, _ in evaluator.steps[1:3]] == step1[:2]
    data = json.loads(json.dumps(result.to_dict()))
    assert data['ties'][0] == {'step': 1, 'allocations': [list(a) for a in step1]}
    assert data['settings'] == {'beam': 2, 'tie_tolerance': 0.0, 'seed': 3}


def test_progress_bar_shows_the_beam(capsys):
    greedy_search('resnet_basic', 6, smooth, counter=False, progress=True, beam=2)
    err = capsys.readouterr().err
    assert 'step 2/2 (from 5 blocks, 2 parents)' in err


@pytest.mark.parametrize('setting, message', [
    (dict(beam=0), r'beam=0: allowed an integer >= 1'),
    (dict(beam=1.0), r'beam=1\.0: allowed an integer >= 1'),
    (dict(beam=True), r'beam=True: allowed an integer >= 1'),
    (dict(tie_tolerance=-0.1), r'tie_tolerance=-0\.1: allowed a real number >= 0'),
    (dict(tie_tolerance=float('nan')), r'tie_tolerance=nan: allowed a real number >= 0'),
    (dict(tie_tolerance='0.1'), r"tie_tolerance='0\.1': allowed a real number >= 0"),
])
def test_bad_settings_name_the_argument_and_the_allowed_values(setting, message):
    with pytest.raises(ValueError, match=message):
        greedy_search('resnet_basic', 6, smooth, counter=False, **setting)
