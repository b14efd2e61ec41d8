"""Greedy block search (Alg. 1) on synthetic evaluators with known optima."""
import contextlib
import math

import pytest

from conftest import Counting
from search import EvaluationCache, exhaustive_search, greedy_search, make_budget
from supernet import get_space

SPACE = 'resnet_basic'  # max depths (3, 4, 6, 3)


def separable(allocation):
    """Concave gains per stage (greedy is optimal for these); stage 2 gains most."""
    scales = (1.0, 2.0, 3.0, 0.5)
    return sum(s * math.log(d) for s, d in zip(scales, allocation))


def test_finds_the_known_optimum_with_ns_evaluations_per_step():
    evaluate = Counting(separable)
    result = greedy_search(SPACE, 12, evaluate, counter=False)
    optimum = exhaustive_search(SPACE, 12, separable, counter=False).best
    assert result.best.allocation == optimum.allocation
    assert sum(optimum.allocation) == 12
    # No stage reaches its maximum on the way, so no subnet is skipped: (C - ns) steps × ns.
    assert all(d < m for d, m in zip(result.chain[-2].allocation, get_space(SPACE).max_depths))
    assert len(evaluate.calls) == (12 - 4) * 4 == result.num_evaluated
    assert len(set(evaluate.calls)) == len(evaluate.calls)
    # The chain has one entry per size ns..C, each one block more than the previous.
    assert [sum(r.allocation) for r in result.chain] == list(range(4, 13))
    for prev, cur in zip(result.chain, result.chain[1:]):
        diff = [c - p for c, p in zip(cur.allocation, prev.allocation)]
        assert sorted(diff) == [0, 0, 0, 1]
    assert result.chain[0].score is None and result.chain[0].allocation == (1, 1, 1, 1)
    # Every chain entry is the best of its step.
    for step in range(1, len(result.chain)):
        scores = [r.score for r in result.history if r.step == step]
        assert result.chain[step].score == max(scores) and len(scores) == 4


def test_full_stages_are_skipped_not_evaluated():
    # Strict preference stage 0 > 1 > 2 > 3: stage 0 fills up (max 3) after two steps.
    evaluate = Counting(lambda a: 1000 * a[0] + 100 * a[1] + 10 * a[2] + a[3])
    result = greedy_search(SPACE, 9, evaluate, counter=False)
    assert [r.allocation for r in result.chain] == [
        (1, 1, 1, 1), (2, 1, 1, 1), (3, 1, 1, 1), (3, 2, 1, 1), (3, 3, 1, 1), (3, 4, 1, 1)]
    assert len(evaluate.calls) == 4 + 4 + 3 + 3 + 3
    assert all(a[0] <= 3 for a in evaluate.calls)


def test_up_to_the_whole_supernetwork():
    evaluate = Counting(separable)
    result = greedy_search(SPACE, 16, evaluate, counter=False)
    assert result.best.allocation == (3, 4, 6, 3)
    # Each step evaluates the stages not yet at their maximum.
    expected = sum(sum(d < m for d, m in zip(r.allocation, (3, 4, 6, 3)))
                   for r in result.chain[:-1])
    assert len(evaluate.calls) == expected < 12 * 4


def test_ties_are_reported_and_reproducible():
    # Formerly "ties go to the earliest stage"; ties are now ordered by a seeded permutation
    # (see search.greedy and tests/test_search_beam.py).
    result = greedy_search(SPACE, 9, lambda a: 0.0, counter=False)
    assert [t['step'] for t in result.ties] == [1, 2, 3, 4, 5]
    assert [t['allocations'][0] for t in result.ties] == [r.allocation for r in result.chain[1:]]
    # Tie between stages 2 and 3 only, then none.
    result = greedy_search(SPACE, 5, lambda a: -a[0] - a[1], counter=False)
    [tie] = result.ties
    assert tie['step'] == 1 and sorted(tie['allocations']) == [(1, 1, 1, 2), (1, 1, 2, 1)]
    assert tie['allocations'][0] == result.best.allocation
    again = greedy_search(SPACE, 5, lambda a: -a[0] - a[1], counter=False)
    assert [r.allocation for r in again.history] == [r.allocation for r in result.history]
    assert again.ties == result.ties


def test_evaluate_start_scores_the_first_entry():
    evaluate = Counting(separable)
    result = greedy_search(SPACE, 6, evaluate, counter=False, evaluate_start=True)
    assert evaluate.calls[0] == (1, 1, 1, 1) and len(evaluate.calls) == 1 + 2 * 4
    assert result.chain[0].score == 0.0 and result.chain[0].step == 0


def test_records_carry_flops_and_params():
    result = greedy_search(get_space(SPACE).scaled(0.25, small_input=True), 6, separable)
    for record in result.history:
        assert record.flops > 0 and record.params > 0 and record.method == 'greedy'
    assert result.chain[0].flops < result.chain[-1].flops
    assert result.chain[-1].params > result.chain[0].params


def test_steps_go_to_evaluate_step_when_available():
    class StepEvaluator:
        def __init__(self):
            self.steps = []

        def __call__(self, allocation):
            raise AssertionError('greedy should call evaluate_step')

        def evaluate_step(self, parent, subnets):
            self.steps.append((parent, list(subnets)))
            for subnet in reversed(subnets):  # any order is fine
                yield subnet, separable(subnet)

    evaluator = StepEvaluator()
    result = greedy_search(SPACE, 7, evaluator, counter=False)
    assert result.best.allocation == greedy_search(SPACE, 7, separable, counter=False).best.allocation
    assert [parent for parent, _ in evaluator.steps] == [r.allocation for r in result.chain[:-1]]
    assert evaluator.steps[0][1] == [(2, 1, 1, 1), (1, 2, 1, 1), (1, 1, 2, 1), (1, 1, 1, 2)]


def test_evaluate_step_may_return_a_list():
    class ListEvaluator:
        def __call__(self, allocation):
            raise AssertionError('greedy should call evaluate_step')

        def evaluate_step(self, parent, subnets):
            return [(subnet, separable(subnet)) for subnet in subnets]

    result = greedy_search(SPACE, 7, ListEvaluator(), counter=False)
    expected = greedy_search(SPACE, 7, separable, counter=False)
    assert [r.allocation for r in result.chain] == [r.allocation for r in expected.chain]


def test_bad_scores_and_evaluators_are_reported():
    with pytest.raises(ValueError, match=r'evaluate\(\(2, 1, 1, 1\)\) returned nan'):
        greedy_search(SPACE, 6, lambda a: float('nan'), counter=False)
    with pytest.raises(TypeError, match='evaluate must be callable'):
        greedy_search(SPACE, 6, 'top1', counter=False)

    class Forgetful:
        def __call__(self, allocation):
            return 0.0

        def evaluate_step(self, parent, subnets):
            yield subnets[0], 0.0

    with pytest.raises(RuntimeError, match='no score for'):
        greedy_search(SPACE, 6, Forgetful(), counter=False)


def test_greedy_under_a_flops_budget_stays_within_it():
    space = get_space(SPACE).scaled(0.25, small_input=True)
    flops = make_budget(space, 'flops', (2, 2, 3, 2))
    evaluate = Counting(separable)
    result = greedy_search(space, flops, evaluate)
    assert all(flops.fits(a) for a in evaluate.calls)
    assert flops.admits(result.best.allocation)
    assert result.best.flops <= flops.limit
    assert [sum(r.allocation) for r in result.chain] == list(range(4, 4 + len(result.chain)))


def test_reweighted_greedy_ends_on_the_budget_frontier():
    budget = make_budget('mobilenet_v2', 'reweighted', 8.0)
    evaluate = Counting(lambda a: -abs(a[1] - 3))
    result = greedy_search('mobilenet_v2', budget, evaluate, counter=budget.counter)
    assert all(budget.fits(a) for a in evaluate.calls)
    assert budget.admits(result.best.allocation)  # no stage can take another block
    assert budget.cost(result.best.allocation) <= 8.0 + 1e-9
    assert result.best.allocation[1] == 3


def test_progress_bar_shows_step_candidate_and_best(capsys):
    greedy_search(SPACE, 6, separable, counter=False, progress=True)
    err = capsys.readouterr().err
    assert 'greedy resnet_basic, blocks <= 6' in err and 'step 2/2 (from 5 blocks)' in err
    # the scores labelled with what they are ('score': the evaluator does not say)
    assert 'score: candidate 1-1-2-2' in err and 'best 1-2-2-1' in err


def test_result_file_has_the_chain_and_the_choice(tmp_path):
    import json
    result = greedy_search(SPACE, 6, separable, counter=False)
    data = json.loads(result.save(tmp_path / 'out' / 'result.json').read_text())
    assert data['best']['allocation'] == [1, 2, 2, 1] == data['chain'][-1]['allocation']
    assert [sum(r['allocation']) for r in data['chain']] == [4, 5, 6]
    assert data['budget']['kind'] == 'blocks' and data['budget']['limit'] == 6
    assert not list((tmp_path / 'out').glob('*.tmp'))


def test_evaluation_cache_counts_reuse():
    calls = []
    cache = EvaluationCache(lambda a: calls.append(a) or 1.0)
    cache.evaluate([(1, 2), (2, 1)])
    cache.evaluate([(2, 1), (1, 3)])
    assert calls == [(1, 2), (2, 1), (1, 3)]
    assert (cache.num_evaluated, cache.num_reused) == (3, 1)


class Top1:
    """Scores as the classification evaluator's metric='accuracy' would label them."""
    metric = 'accuracy'

    def __call__(self, allocation):
        return separable(allocation) / 10


@contextlib.contextmanager
def mmengine_run(tmp_path):
    """A logger with a log file and a visualizer, as a runner makes them (made inside the test:
    its console handler writes to the stdout of the test's call, where the bar is); removed
    after, so that no later search reports to them."""
    from mmengine.logging import MMLogger
    from mmengine.visualization import Visualizer
    name = f'greedy-test-{tmp_path.name}'
    logger = MMLogger.get_instance(name, log_file=str(tmp_path / 'run.log'))
    Visualizer.get_instance(name, vis_backends=[{'type': 'LocalVisBackend'}],
                            save_dir=str(tmp_path / 'vis'))
    try:
        yield logger
    finally:
        MMLogger._instance_dict.pop(name)
        Visualizer._instance_dict.pop(name)
        for handler in logger.handlers:
            handler.close()


def test_inside_a_run_each_step_is_logged_above_the_bar_and_each_score_sent(tmp_path,
                                                                            monkeypatch):
    import json
    import logging

    from tqdm.auto import tqdm
    written, write = [], tqdm.write
    monkeypatch.setattr(tqdm, 'write', lambda text, file=None, end='\n', nolock=False: (
        written.append(text), write(text, file=file, end=end, nolock=nolock)))
    with mmengine_run(tmp_path) as logger:
        result = greedy_search(SPACE, 6, Top1(), counter=False, progress=True)
        console = next(h for h in logger.handlers if type(h) is logging.StreamHandler)
        assert type(console.stream).__name__ != '_AboveBars'  # its own stream once the bar closed

    # While the bar was open the log's console lines went through tqdm.write, whole.
    steps = [text for text in written if 'greedy step' in text]
    assert len(steps) == 2 and all(text.endswith('\n') for text in steps)
    text = (tmp_path / 'run.log').read_text()
    for record in result.chain[1:]:
        assert (f'took {record.label} ({sum(record.allocation)} blocks), held-out top-1 '
                f'{record.score:.4f}, best of ') in text

    [scalars] = (tmp_path / 'vis').rglob('scalars.json')
    entries = [json.loads(line) for line in scalars.read_text().splitlines()]
    assert [e['step'] for e in entries if 'search/score' in e] == \
        list(range(1, result.num_evaluated + 1))
    assert [(e['step'], e['search/chain']) for e in entries if 'search/chain' in e] == \
        [(sum(r.allocation), r.score) for r in result.chain[1:]]


def test_chain_plot_names_its_score_and_shows_it_without_an_offset():
    import matplotlib.pyplot as plt

    from search.plot import chain_figure

    class Loglik:
        metric = 'loss'

        def __call__(self, allocation):  # scores differing in the fourth decimal only
            return -2.3 + 1e-4 * separable(allocation)

    fig = chain_figure(greedy_search(SPACE, 8, Loglik(), counter=False))
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_ylabel() == 'held-out log-likelihood'
    assert ax.yaxis.get_major_formatter().get_offset() == ''
    assert any(label.get_text().startswith('−2.29') or label.get_text().startswith('-2.29')
               for label in ax.get_yticklabels())
    plt.close(fig)
