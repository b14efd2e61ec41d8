"""Random, exhaustive and evolutionary search respect the budget and the evaluation count;
Kendall τ on known rankings."""
import math

import numpy as np
import pytest

from conftest import Counting
from search import (evolution_search, exhaustive_search, greedy_search, kendall_tau, make_budget,
                    random_search)
from supernet import get_space

SPACE = 'resnet_basic'  # (3, 4, 6, 3)


def bumpy(a):
    """Optimum (2, 1, 4, 2) on 9 blocks; not separable, so greedy need not find it."""
    target = np.array([2, 1, 4, 2])
    return -float(np.abs(np.array(a) - target).sum()) + 0.3 * (a[0] * a[3] == 4)


def test_exhaustive_finds_the_optimum_of_the_frontier():
    evaluate = Counting(bumpy)
    result = exhaustive_search(SPACE, 9, evaluate, counter=False)
    frontier = make_budget(SPACE, 'blocks', 9).frontier()
    assert evaluate.calls == frontier and len(frontier) == 32
    assert result.best.allocation == (2, 1, 4, 2) == max(frontier, key=bumpy)
    assert result.num_evaluated == 32


def test_exhaustive_refuses_too_many_allocations():
    with pytest.raises(ValueError, match="budget blocks=16 admits 410 allocations of space "
                                         "'resnet_bottleneck', more than max_evaluations=100"):
        exhaustive_search('resnet_bottleneck', 16, bumpy, max_evaluations=100, counter=False)


@pytest.mark.parametrize('search', [random_search, evolution_search])
def test_baselines_make_exactly_n_distinct_evaluations_within_the_budget(search):
    budget = make_budget(SPACE, 'blocks', 9)
    greedy = greedy_search(SPACE, budget, bumpy, counter=False)
    n = len(greedy.history)  # the same number of evaluations as greedy
    evaluate = Counting(bumpy)
    result = search(SPACE, budget, evaluate, num_evaluations=n, seed=1, counter=False)
    assert len(evaluate.calls) == len(set(evaluate.calls)) == n == len(result.history)
    assert all(budget.admits(a) and sum(a) == 9 for a in evaluate.calls)
    assert result.best.score == max(bumpy(a) for a in evaluate.calls)
    again = search(SPACE, budget, bumpy, num_evaluations=n, seed=1, counter=False)
    assert [r.allocation for r in again.history] == evaluate.calls  # reproducible


def test_evolution_breeds_from_the_best():
    evaluate = Counting(bumpy)
    result = evolution_search(SPACE, 9, evaluate, num_evaluations=24, population=8, top_k=4,
                              seed=0, counter=False)
    assert result.best.allocation == (2, 1, 4, 2)
    assert {r.step for r in result.history} == {0, 1, 2}
    # Later generations are better on average than the random first one.
    by_step = [np.mean([r.score for r in result.history if r.step == s]) for s in (0, 2)]
    assert by_step[1] > by_step[0]


def test_baselines_under_a_flops_budget():
    space = get_space(SPACE).scaled(0.25, small_input=True)
    budget = make_budget(space, 'flops', (2, 2, 3, 2))
    for search in (random_search, evolution_search):
        evaluate = Counting(bumpy)
        result = search(space, budget, evaluate, num_evaluations=10, counter=budget.counter)
        assert len(evaluate.calls) == 10 and all(budget.admits(a) for a in evaluate.calls)
        assert all(r.flops <= budget.limit for r in result.history)


def test_more_evaluations_than_allocations_warns_and_evaluates_all():
    evaluate = Counting(bumpy)
    with pytest.warns(UserWarning, match='admits only 4 allocations'):
        result = random_search(SPACE, 15, evaluate, num_evaluations=10, counter=False)
    assert sorted(evaluate.calls) == [(2, 4, 6, 3), (3, 3, 6, 3), (3, 4, 5, 3), (3, 4, 6, 2)]
    assert len(result.history) == 4


def test_kendall_tau_on_known_rankings():
    scores = [0.1, 0.4, 0.2, 0.9, 0.5]
    assert kendall_tau(scores, scores) == pytest.approx(1.0)
    assert kendall_tau(scores, [-s for s in scores]) == pytest.approx(-1.0)
    # One adjacent swap among n = 5: (C - D) / (n (n - 1) / 2) = (9 - 1) / 10.
    swapped = [0.1, 0.2, 0.4, 0.9, 0.5]  # 0.4 and 0.2 trade places
    assert kendall_tau(scores, swapped) == pytest.approx(0.8)
    # Mappings are compared on their common keys.
    a = {(1, 1): 1.0, (1, 2): 2.0, (2, 1): 3.0, (2, 2): 4.0}
    b = {(2, 2): 0.9, (2, 1): 0.1, (1, 2): 0.2, (3, 3): 5.0}
    assert kendall_tau(a, b) == pytest.approx(1 / 3)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match='the scorings have 3 and 2 entries'):
        kendall_tau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match='at least 2 common candidates, got 1'):
        kendall_tau({(1,): 1}, {(1,): 2, (2,): 3})


class WholeBatchEvaluator:
    """Scores like ``score`` but also has ``evaluate_all``; records what each call was given."""

    def __init__(self):
        self.batches = []

    def __call__(self, allocation):
        raise AssertionError('a batch of more than one should go through evaluate_all')

    def evaluate_all(self, allocations):
        self.batches.append(list(allocations))
        for allocation in sorted(allocations):
            yield allocation, float(allocation[2] - 2 * abs(allocation[0] - 2))


def test_baselines_hand_whole_batches_to_evaluate_all(tmp_path):
    evaluator = WholeBatchEvaluator()
    exhaustive = exhaustive_search('resnet_basic', 7, evaluator, counter=False,
                                   log=tmp_path / 'log.jsonl')
    assert len(evaluator.batches) == 1 and len(evaluator.batches[0]) == len(exhaustive.history)
    assert exhaustive.best.allocation == (2, 1, 3, 1)
    # Later searches sharing the log ask for nothing already scored.
    random_search('resnet_basic', 7, evaluator, num_evaluations=5, counter=False,
                  log=tmp_path / 'log.jsonl')
    assert len(evaluator.batches) == 1
