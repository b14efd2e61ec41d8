"""Greedy search past the super-network's depth (``beyond_max``): candidates whose extra blocks
are initialized by weight transfer, scored like any other, logged as transferred, resumable."""
import json

import pytest
import torch
from conftest import Counting, assert_search_state_unchanged, search_state
from mmengine.analysis import FlopAnalyzer, parameter_count
from test_search_evaluator import Classifier, batches, digits, one_thread  # noqa: F401 (fixtures)

from search import (
    ClassificationEvaluator,
    ComplexityCounter,
    SearchLog,
    TransferringEvaluator,
    greedy_search,
)
from supernet import AllocationError, build_backbone, get_space
from supernet.spaces import resnet_space

BASIC = 'resnet_basic'  # max depths (3, 4, 6, 3)
# Two blocks per stage at most: a greedy step from a parent with a full stage has a subnet past it.
TINY = resnet_space('tiny_basic', 'basic', (2, 2, 2, 2), (1, 1, 1, 1), base_channels=8,
                    small_input=True)


def prefers_stage_2(allocation):
    """Every block in stage 2 is worth more than any elsewhere, without limit."""
    return 10 * allocation[2] + sum(allocation)


@pytest.mark.parametrize('beyond_max', [0, 1, 2])
def test_greedy_goes_past_the_maximum_only_by_beyond_max(beyond_max):
    evaluate = Counting(prefers_stage_2)
    result = greedy_search(BASIC, 13, evaluate, counter=False, beyond_max=beyond_max)
    limit = tuple(m + beyond_max for m in get_space(BASIC).max_depths)
    assert result.best.allocation[2] == 6 + beyond_max  # as deep as allowed, and no deeper
    assert all(d <= m for a in evaluate.calls for d, m in zip(a, limit))
    assert max(a[2] for a in evaluate.calls) == 6 + beyond_max
    assert sum(result.best.allocation) == 13 and result.space == BASIC
    if beyond_max == 0:  # today's behaviour: full stages skipped, never evaluated
        assert all(a[2] <= 6 for a in evaluate.calls)


ONE_BLOCK = resnet_space('one_block', 'basic', (1, 1, 1, 1), (1, 1, 1, 1), base_channels=8,
                         small_input=True)


@pytest.mark.parametrize('space, deeper', [
    (get_space(BASIC).scaled(0.25, small_input=True), (1, 1, 8, 4)),  # 2 and 1 past the max
    (ONE_BLOCK, (2, 1, 3, 1)),  # the super-network has no second block to count from
])
def test_counts_of_deeper_candidates_are_those_of_the_static_backbone(space, deeper):
    counter = ComplexityCounter(space)
    model = build_backbone(space, deeper).eval()
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, 32, 32))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    assert counter.flops(deeper) == analyzer.total()
    assert counter.params(deeper) == parameter_count(model)['']
    assert counter.flops(space.min_depths) < counter.flops(deeper)


def test_clipped_caps_each_stage_at_its_maximum():
    space = get_space(BASIC)                                   # max depths (3, 4, 6, 3)
    assert space.clipped((1, 9, 6, 4)) == (1, 4, 6, 3)
    assert space.clipped((2, 2, 2, 2)) == (2, 2, 2, 2)
    with pytest.raises(AllocationError, match='stage 0 .* has depth 0'):
        space.clipped((0, 1, 1, 1))


def test_greedy_records_count_deeper_candidates():
    space = get_space(BASIC).scaled(0.25, small_input=True)
    result = greedy_search(space, 13, prefers_stage_2, beyond_max=2)
    counter = ComplexityCounter(space)
    assert result.best.allocation[2] == 8
    assert (result.best.flops, result.best.params) == (counter.flops(result.best.allocation),
                                                       counter.params(result.best.allocation))
    assert result.budget['space'] == f'{space.name}+2'


def test_bad_settings_name_the_field_and_the_allowed_values():
    with pytest.raises(ValueError, match=r'beyond_max=-1: allowed an integer >= 0'):
        greedy_search(BASIC, 6, prefers_stage_2, counter=False, beyond_max=-1)
    with pytest.raises(ValueError, match=r"beyond_max='2': allowed an integer >= 0"):
        greedy_search(BASIC, 6, prefers_stage_2, counter=False, beyond_max='2')
    with pytest.raises(ValueError, match=r'extra=-1: allowed an integer >= 0'):
        get_space(BASIC).extended(-1)


@pytest.fixture(scope='module')
def tiny(digits):  # noqa: F811
    """A classifier on the tiny super-network and its (prefix-caching) evaluator on digits."""
    (xt, yt), (xv, yv) = digits
    model = Classifier(TINY)
    evaluator = ClassificationEvaluator(model, batches(xt, yt, 48, count=3),
                                        batches(xv, yv, 64), num_recal_batches=3)
    return model, evaluator


def test_score_backbone_scores_a_subnet_as_the_evaluator_does(tiny):
    model, evaluator = tiny
    allocation = (2, 1, 2, 1)
    subnet = model.backbone.get_subnet(allocation)
    assert evaluator.score_backbone(subnet) == pytest.approx(evaluator(allocation), abs=1e-12)
    assert model.backbone is evaluator.supernet  # swapped back


def test_deeper_subnet_keeps_inherited_blocks_and_transfers_the_new_ones(tiny):
    model, evaluator = tiny
    evaluate = TransferringEvaluator(evaluator)
    backbone, entry = evaluate.build((1, 4, 2, 1))
    assert entry == {'method': 'dpiat', 'source': [1, 2, 2, 1], 'coverage': 1.0}
    inherited = model.backbone.get_subnet((1, 2, 2, 1)).state_dict()
    state = backbone.state_dict()
    assert all(torch.equal(state[k], v) for k, v in inherited.items())  # blocks 0, 1: exact
    report = evaluate.reports[(1, 4, 2, 1)]
    for block in (2, 3):  # the new blocks come from the subnet's layer2 blocks
        record = report[f'layer2.{block}.conv1.weight']
        assert record.op == 'copy' and record.source.startswith('layer2.')
        assert torch.equal(state[f'layer2.{block}.conv1.weight'], inherited[record.source])
    with pytest.raises(ValueError, match=r'\(1, 2, 2, 1\) is a subnet of the super-network'):
        evaluate.build((1, 2, 2, 1))
    with pytest.raises(ValueError, match=r"transfer method='copy': allowed 'dpiat', 'hmt', 'tli'"):
        TransferringEvaluator(evaluator, 'copy')
    with pytest.raises(TypeError, match='cannot score candidates past the super-network'):
        TransferringEvaluator(lambda allocation: 0.0)


def test_search_past_the_maximum_logs_transfers_and_resumes(tiny, tmp_path):
    model, evaluator = tiny
    model.train()  # as after fine-tuning: the search leaves every mode as it found it
    before = search_state(model)
    evaluate = TransferringEvaluator(evaluator)
    path = tmp_path / 'search.jsonl'
    result = greedy_search(TINY, 7, evaluate, log=path, beyond_max=1)
    assert_search_state_unchanged(model, before)

    outside = [r for r in result.history if any(d > 2 for d in r.allocation)]
    assert outside, 'a step from a parent with a full stage has subnets past the maximum'
    for record in result.history:
        clipped = [min(d, 2) for d in record.allocation]
        assert record.transferred == ({'method': 'dpiat', 'source': clipped, 'coverage': 1.0}
                                      if record in outside else None)
    assert set(evaluate.reports) == {r.allocation for r in outside}
    assert max(max(r.allocation) for r in result.history) == 3  # never more than 1 past
    lines = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert {tuple(line['allocation']): line['transferred'] for line in lines
            if 'pick' not in line} == \
        {r.allocation: r.transferred for r in result.history}

    marked = sum(bool(r.transferred) for r in result.chain)  # '*' per entry, and one explaining
    assert result.format_chain().count('*') == marked + (marked > 0)

    # The transferred scores are the same on a second computation (deterministic transfer).
    again = TransferringEvaluator(evaluator)
    assert again(outside[0].allocation) == pytest.approx(outside[0].score, abs=1e-12)

    # Resume: nothing is evaluated again, and the log keeps saying which were transferred.
    fresh = TransferringEvaluator(evaluator)
    resumed = greedy_search(TINY, 7, fresh, log=SearchLog(path), beyond_max=1)
    assert resumed.num_evaluated == 0 and fresh.reports == {}
    assert resumed.history == result.history and resumed.chain == result.chain
    assert_search_state_unchanged(model, before)


def test_old_logs_without_the_field_load(tmp_path):
    path = tmp_path / 'old.jsonl'
    path.write_text('{"meta": {"space": "resnet_basic"}}\n{"allocation": [2, 1, 1, 1], "score": '
                    '0.5, "flops": 1, "params": 2, "seconds": 0.1, "step": 1, "method": '
                    '"greedy"}\n')
    record = SearchLog(path, meta={'space': 'resnet_basic'}).get((2, 1, 1, 1))
    assert record.score == 0.5 and record.transferred is None


def test_mobilenet_candidate_past_the_maximum(digits):  # noqa: F811
    (xt, yt), (xv, yv) = digits
    space = get_space('mobilenet_v2').scaled(0.25)  # max (5, 6, 8, 7, 7)
    model = Classifier(space, out_indices=(7,))
    before = search_state(model)
    evaluate = TransferringEvaluator(ClassificationEvaluator(
        model, batches(xt, yt, 48, count=2), batches(xv, yv, 64), num_recal_batches=2))
    score = evaluate((1, 1, 1, 9, 1))
    assert 0 <= score <= 1
    assert evaluate.transferred((1, 1, 1, 9, 1)) == {'method': 'dpiat',
                                                     'source': [1, 1, 1, 7, 1], 'coverage': 1.0}
    assert evaluate.transferred((1, 1, 1, 7, 1)) is None
    assert_search_state_unchanged(model, before)
