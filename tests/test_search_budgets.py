"""Budgets and counts: re-weighting against hand-computed weights, mmengine counts of real
subnets, frontiers against brute force, and the errors of invalid budgets."""
import itertools

import numpy as np
import pytest
import torch
from mmengine.analysis import FlopAnalyzer, parameter_count

from search import BUDGET_KINDS, ComplexityCounter, make_budget
from supernet import build_backbone, get_space

SMALL_RESNET = get_space('resnet_basic').scaled(0.25, small_input=True)
SMALL_MOBILE = get_space('mobilenet_v2').scaled(0.25)
SIZE = 32


def mmengine_counts(space, allocation):
    """FLOPs and params of the subnet, counted directly (not through the counter)."""
    model = build_backbone(space, allocation).eval()
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, SIZE, SIZE))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total(), parameter_count(model)['']


@pytest.mark.parametrize('space', [SMALL_RESNET, SMALL_MOBILE], ids=['resnet', 'mobilenet'])
def test_counter_equals_mmengine_on_the_static_subnet(space):
    counter = ComplexityCounter(space, input_shape=(3, SIZE, SIZE))
    rng = np.random.default_rng(0)
    for allocation in [space.min_depths, space.max_depths, space.sample(rng), space.sample(rng)]:
        flops, params = mmengine_counts(space, allocation)
        assert (counter.flops(allocation), counter.params(allocation)) == (flops, params), allocation


def test_reweighting_matches_hand_computed_stage_weights():
    space = SMALL_MOBILE
    counter = ComplexityCounter(space, input_shape=(3, SIZE, SIZE))
    budget = make_budget(space, 'reweighted', 10, counter=counter)
    # Weight of stage i: FLOPs added by one more block there, over the mean of those.
    base, _ = mmengine_counts(space, space.min_depths)
    added = []
    for i in range(space.num_stages):
        deeper = tuple(2 if j == i else 1 for j in range(space.num_stages))
        added.append(mmengine_counts(space, deeper)[0] - base)
    expected = np.array(added, float) / np.mean(added)
    np.testing.assert_allclose(budget.slopes, expected, rtol=1e-12)
    assert len(set(np.round(expected, 3))) == 5  # the stages really differ
    # Σ w_i a_i = ns + (FLOPs(a) - FLOPs(min)) / mean added FLOPs.
    a = (2, 3, 4, 3, 3)
    flops, _ = mmengine_counts(space, a)
    assert budget.cost(a) == pytest.approx(5 + (flops - base) / np.mean(added), rel=1e-12)


def test_resnet_stage_weights_are_about_one():
    # ResNet stages double the channels and halve the side: a block costs about the same.
    budget = make_budget(SMALL_RESNET, 'reweighted', 8)
    np.testing.assert_allclose(budget.slopes, 1.0, rtol=0.05)


@pytest.mark.parametrize('kind, limit, message', [
    ('blocks', 3, "budget blocks=3 for space 'resnet_basic': allowed 4..16"),
    ('blocks', 17, "budget blocks=17 for space 'resnet_basic': allowed 4..16"),
    ('blocks', 0, 'allowed 4..16'),
    ('blocks', 6.5, 'budget blocks=6.5: a block count is an integer, allowed 4..16'),
    ('blocks', 'big', "budget blocks='big': the limit must be a number or an allocation of 4"),
    ('blocks', None, 'budget blocks=None: the limit must be a number'),
    ('blocks', (1, 1, 9, 1), r'stage 2 \(layer3\) has depth 9, allowed 1..6'),
    ('macs', 8, "budget kind 'macs': allowed 'blocks', 'reweighted', 'flops', 'params'"),
    ('reweighted', 3.5, r"budget reweighted=3.5 for space 'resnet_basic': allowed 4..1[56]\.\d+"),
    ('flops', 1e3, r"budget flops=1000 for space 'resnet_basic': allowed \d+..\d+"),
    ('params', 1e12, r'budget params=1000000000000 .* allowed \d+..\d+ \(the cost of \(1, 1, 1, 1\) .. '
                     r'\(3, 4, 6, 3\)\)'),
])
def test_invalid_budgets_name_value_and_allowed_range(kind, limit, message):
    counter = ComplexityCounter('resnet_basic', input_shape=(3, SIZE, SIZE))
    with pytest.raises(ValueError, match=message):
        make_budget('resnet_basic', kind, limit, counter=counter)


def test_limits_at_both_ends_and_from_an_allocation():
    assert make_budget('resnet_basic', 'blocks', 4).frontier() == [(1, 1, 1, 1)]
    assert make_budget('resnet_basic', 'blocks', 16).frontier() == [(3, 4, 6, 3)]
    counter = ComplexityCounter(SMALL_MOBILE, input_shape=(3, SIZE, SIZE))
    flops = make_budget(SMALL_MOBILE, 'flops', (2, 3, 4, 3, 3), counter=counter)
    assert flops.limit == counter.flops((2, 3, 4, 3, 3)) and flops.admits((2, 3, 4, 3, 3))
    assert set(BUDGET_KINDS) == {'blocks', 'reweighted', 'flops', 'params'}


def brute_force_frontier(budget):
    space = budget.space
    box = list(itertools.product(*(range(1, m + 1) for m in space.max_depths)))
    result = []
    for a in box:
        grown = [tuple(d + (i == k) for i, d in enumerate(a)) for k in range(len(a))]
        if budget.fits(a) and not any(g in box and budget.fits(g) for g in grown):
            result.append(a)
    return result


@pytest.mark.parametrize('kind, limit', [('blocks', 9), ('reweighted', 9.3), ('flops', (2, 3, 3, 1)),
                                         ('params', (1, 2, 5, 2))])
def test_frontier_matches_brute_force_and_repair_lands_on_it(kind, limit):
    counter = ComplexityCounter(SMALL_RESNET)
    budget = make_budget(SMALL_RESNET, kind, limit, counter=counter)
    frontier = budget.frontier()
    assert frontier == brute_force_frontier(budget) and frontier
    if kind == 'blocks':
        assert all(sum(a) == 9 for a in frontier) and len(frontier) == 32
    rng = np.random.default_rng(0)
    members = set(frontier)
    for _ in range(50):
        assert budget.repair(SMALL_RESNET.sample(rng), rng) in members


def test_frontier_refuses_huge_spaces():
    with pytest.raises(ValueError, match='40320 allocations; enumerating more than '
                                         'max_allocations=1000 is refused'):
        make_budget('resnet_bottleneck', 'blocks', 16).frontier(max_allocations=1000)
