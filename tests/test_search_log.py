"""The JSONL search log: resume after a crash, never evaluate twice, survive a torn last line."""
import json

import pytest

from search import SearchLog, evolution_search, greedy_search, random_search
from search.log import Record

SPACE = 'resnet_basic'


def separable(a):
    return 1.0 * a[0] ** 0.5 + 2.0 * a[1] ** 0.5 + 3.0 * a[2] ** 0.5 + 0.5 * a[3] ** 0.5


class Crash(Exception):
    pass


class Evaluate:
    """Counts calls; raises :class:`Crash` at call number ``crash_at`` (the process dies)."""

    def __init__(self, crash_at=None):
        self.calls, self.crash_at = [], crash_at

    def __call__(self, allocation):
        if self.crash_at is not None and len(self.calls) + 1 == self.crash_at:
            raise Crash(allocation)
        self.calls.append(tuple(allocation))
        return separable(allocation)


def run(log, evaluate, budget=12):
    return greedy_search(SPACE, budget, evaluate, log=log, counter=False)


@pytest.mark.parametrize('crash_at', [1, 5, 13, 30])  # 30: the last evaluation
def test_resume_after_a_crash_repeats_nothing(tmp_path, crash_at):
    reference = run(None, Evaluate())
    path = tmp_path / 'search.jsonl'
    first = Evaluate(crash_at)
    with pytest.raises(Crash):
        run(path, first)
    assert len(first.calls) == crash_at - 1
    assert len(SearchLog(path)) == crash_at - 1  # every finished evaluation is on disk
    second = Evaluate()
    resumed = run(path, second)
    assert not set(first.calls) & set(second.calls)
    total = reference.num_evaluated
    assert len(first.calls) + len(second.calls) == total
    assert resumed.num_reused == crash_at - 1 and resumed.num_evaluated == total - (crash_at - 1)
    assert [r.allocation for r in resumed.chain] == [r.allocation for r in reference.chain]
    assert [r.score for r in resumed.chain] == [r.score for r in reference.chain]
    # A third run evaluates nothing.
    third = Evaluate()
    assert run(path, third).best == resumed.best and third.calls == []


def test_torn_last_line_is_dropped_and_only_that_candidate_redone(tmp_path):
    path = tmp_path / 'search.jsonl'
    with pytest.raises(Crash):
        run(path, Evaluate(crash_at=10))
    lines = path.read_text().splitlines(keepends=True)
    last = json.loads(lines[-1])
    # Killed while writing the 9th record: half a line, no newline.
    path.write_text(''.join(lines[:-1]) + lines[-1][:len(lines[-1]) // 2])
    evaluate = Evaluate()
    with pytest.warns(UserWarning, match='incomplete last line'):
        resumed = run(path, evaluate)
    reference = run(None, Evaluate())
    assert evaluate.calls[0] == tuple(last['allocation'])
    assert len(evaluate.calls) == reference.num_evaluated - 8
    assert [r.allocation for r in resumed.chain] == [r.allocation for r in reference.chain]
    # The file is whole again: every line parses; a metadata line, then one per candidate and
    # one per step's pick, each step once although the resumed search settled two of them again.
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {'meta': {'space': SPACE}}
    records = [line for line in lines[1:] if 'pick' not in line]
    assert len(records) == len({tuple(r['allocation']) for r in records}) == reference.num_evaluated
    picks = [line['pick'] for line in lines[1:] if 'pick' in line]
    assert [p['step'] for p in picks] == list(range(1, len(reference.chain)))
    assert [p['allocation'] for p in picks] == [list(r.allocation) for r in reference.chain[1:]]


def test_log_records_have_the_documented_fields(tmp_path):
    path = tmp_path / 'search.jsonl'
    from supernet import get_space
    greedy_search(get_space(SPACE).scaled(0.25, small_input=True), 6, separable, log=path)
    record = json.loads(path.read_text().splitlines()[1])
    assert set(record) == {'allocation', 'score', 'flops', 'params', 'seconds', 'step', 'method',
                           'transferred'}
    assert record['step'] == 1 and record['flops'] > 0 and record['seconds'] >= 0
    assert record['transferred'] is None  # a plain evaluator: every subnet inherits its weights


def test_each_step_logs_its_pick_with_a_labelled_score(tmp_path):
    class Loglik:
        metric = 'loss'  # as the classification evaluator's: a held-out log-likelihood

        def __call__(self, allocation):
            return -separable(allocation)

    path = tmp_path / 'search.jsonl'
    result = greedy_search(SPACE, 6, Loglik(), log=path, counter=False)
    picks = SearchLog(path).picks
    assert result.score_name == 'held-out log-likelihood'
    assert picks == [{'step': s, 'allocation': list(r.allocation), 'blocks': 4 + s,
                      'score': r.score, 'score_name': 'held-out log-likelihood', 'candidates': 4}
                     for s, r in enumerate(result.chain[1:], 1)]
    assert result.to_dict()['score_name'] == 'held-out log-likelihood'


def test_larger_budget_continues_the_same_log(tmp_path):
    path = tmp_path / 'search.jsonl'
    small = run(path, Evaluate(), budget=8)
    evaluate = Evaluate()
    large = run(path, evaluate, budget=10)
    assert large.chain[:len(small.chain)] == small.chain
    assert len(evaluate.calls) == 2 * 4 and large.num_reused == 16


def test_searches_sharing_a_log_never_evaluate_twice(tmp_path):
    path = tmp_path / 'search.jsonl'
    evaluate = Evaluate()
    random_search(SPACE, 9, evaluate, num_evaluations=12, log=path, counter=False)
    evolution_search(SPACE, 9, evaluate, num_evaluations=20, log=path, counter=False, seed=3)
    greedy_search(SPACE, 9, evaluate, log=path, counter=False)
    assert len(evaluate.calls) == len(set(evaluate.calls)) == len(SearchLog(path))


def test_metadata_mismatch_and_corruption_are_errors(tmp_path):
    path = tmp_path / 'search.jsonl'
    log = SearchLog(path, meta={'space': SPACE, 'checkpoint': 'a.pth'})
    log.append(Record((1, 1, 1, 2), 0.5))
    assert len(SearchLog(path, meta={'space': SPACE, 'checkpoint': 'a.pth'})) == 1
    assert len(SearchLog(path, meta={'space': SPACE})) == 1  # only the keys asked for are checked
    with pytest.raises(ValueError, match="written for different settings: checkpoint: log has "
                                         "'a.pth', now 'b.pth'"):
        SearchLog(path, meta={'space': SPACE, 'checkpoint': 'b.pth'})
    with pytest.raises(ValueError, match=r'already logged'):
        log.append(Record((1, 1, 1, 2), 0.7))
    text = path.read_text().splitlines()
    path.write_text('\n'.join([text[0], '{"allocation": [1, 1', text[1]]) + '\n')
    with pytest.raises(ValueError, match='line 2: not a search record'):
        SearchLog(path)


def test_a_torn_metadata_line_is_rewritten(tmp_path):
    path = tmp_path / 'search.jsonl'
    path.write_text('{"meta": {"spa')  # killed while creating the log
    with pytest.warns(UserWarning, match='incomplete last line'):
        log = SearchLog(path, meta={'space': SPACE})
    log.append(Record((1, 1, 1, 2), 0.5))
    assert [json.loads(line) for line in path.read_text().splitlines()][0] == {
        'meta': {'space': SPACE}}
    assert SearchLog(path, meta={'space': SPACE}).get((1, 1, 1, 2)).score == 0.5


def test_a_log_of_another_space_is_refused(tmp_path):
    path = tmp_path / 'search.jsonl'
    run(path, Evaluate(), budget=6)
    from supernet import get_space
    other = get_space(SPACE).scaled(0.5)
    with pytest.raises(ValueError, match="space: log has 'resnet_basic', now 'resnet_basic_w0.5'"):
        greedy_search(other, 6, separable, log=path, counter=False)
