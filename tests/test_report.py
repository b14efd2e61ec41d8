"""tools/report.py in its reduced mode: every figure and table is produced, the markdown says
what the JSON holds; the ERF tool and its library on known cases."""
import json
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.erf import allocation_backbones, effective_receptive_field, erf_inputs, erf_stats
from conftest import ROOT, load_script, run_tool
from reproduce import SECTIONS, render_report
from search import SearchLog

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


# ------------------------------------------------------------------------- markdown parsing
def sections_of(markdown: str) -> dict:
    """'## <title>' -> its text."""
    parts = re.split(r'^## (.+)$', markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def tables_of(text: str) -> list:
    """Every markdown table in ``text`` as a list of rows (lists of cell strings), header
    first, separator dropped."""
    tables, current = [], []
    for line in text.splitlines() + ['']:
        if line.startswith('|'):
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if not all(set(c) <= {'-'} for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def json_numbers(node) -> list:
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return []
    if isinstance(node, (int, float)):
        return [node]
    values = node.values() if isinstance(node, dict) else node
    return [n for v in values for n in json_numbers(v)]


def fmt(value, decimals=2):
    return f'{value:.{decimals}f}'


def alloc(depths):
    return '-'.join(map(str, depths))


# ----------------------------------------------------------------------------------- tests
def test_every_figure_and_section_is_written(report):
    out, data, markdown = report
    assert list(data['sections']) == [s.KEY for s in SECTIONS]
    titles = list(sections_of(markdown))
    assert titles == [s.TITLE for s in SECTIONS]
    for section in SECTIONS:
        path = out / section.FIGURE
        assert path.read_bytes()[:8] == PNG_MAGIC, path
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert min(image.size) > 300, (path, image.size)
        assert f']({section.FIGURE})' in markdown
        part = sections_of(markdown)[section.TITLE]
        entry = data['sections'][section.KEY]
        # every section states the command and seed that produced it
        assert entry['command'].startswith('python tools/report.py --reduced')
        assert entry['seed'] == 3
        assert f'`{entry["command"]}` (seed 3)' in part
        assert tables_of(part), f'section {section.TITLE} has no table'
    assert (out / 'supernet.pth').is_file()  # trained here, kept for --supernet
    # a fresh run reuses nothing, though its second process reads files the main one wrote
    assert data['meta']['processes'] == 2
    assert not any(data['meta']['reused'].values()), data['meta']['reused']
    assert 'It resumed a stopped run' not in markdown


def test_tables_equal_the_json(report):
    _, data, markdown = report
    parts = sections_of(markdown)
    s = data['sections']

    search = s['search']
    main, paired, crowd, per_seed = tables_of(parts[search['title']])
    for row, method in zip(main[1:], search['summary'], strict=True):
        entry = search['summary'][method]
        assert row == [method, fmt(entry['evaluations'], 1),
                       f"{fmt(entry['rescore']['mean'])} ± {fmt(entry['rescore']['std'])}",
                       f"{fmt(entry['test']['mean'])} ± {fmt(entry['test']['std'])}",
                       fmt(entry['search_rank'], 1)]
    picks = [r for seed in search['seeds'] for r in seed['picks']]
    decimals = 2 if search['metric'] == 'accuracy' else 4
    for row, pick in zip(per_seed[1:], picks, strict=True):
        assert row[1:] == [pick['method'], alloc(pick['allocation']), str(pick['evaluations']),
                           fmt(pick['rescore_top1']), fmt(pick['test_top1']),
                           fmt(pick['search_score'], decimals), str(pick['search_rank'])]
    for seed in search['seeds']:
        scores = dict((tuple(a), v) for a, v in seed['all'])
        assert len(scores) == seed['frontier_size'] == search['frontier_size']
        by_method = {r['method']: r for r in seed['picks']}
        # the exhaustive pick is the best score; every pick's rank counts those above it
        assert by_method['exhaustive']['search_score'] == max(scores.values())
        for r in seed['picks']:
            assert r['search_rank'] == 1 + sum(v > r['search_score'] for v in scores.values())
        assert by_method['exhaustive']['evaluations'] == seed['frontier_size']
        assert by_method['random']['evaluations'] == by_method['greedy']['evaluations']
        assert by_method['evolution@beam2']['evaluations'] == min(
            by_method['greedy-beam2']['evaluations'], seed['frontier_size'])
    for row, comparison in zip(paired[1:], search['comparisons'], strict=True):
        diffs = [{r['method']: r['test_top1'] for r in seed['picks']} for seed in search['seeds']]
        expected = np.mean([d[comparison['a']] - d[comparison['b']] for d in diffs])
        assert comparison['test_top1']['mean'] == pytest.approx(expected, abs=0.006)
        assert row[0] == f"{comparison['a']} − {comparison['b']}"
    assert len(crowd) - 1 == 2 * len(search['seeds'])

    [arch] = tables_of(parts[s['architecture']['title']])
    rows = {r[0]: r for r in arch[1:]}
    assert len(rows) == len(s['architecture']['rows'])
    first = dict((tuple(a), v) for a, v in search['seeds'][0]['all'])
    for entry in s['architecture']['rows']:
        row = rows[alloc(entry['allocation'])]
        assert row[2:] == [fmt(entry['source_top1']), fmt(entry['search_top1']),
                           fmt(entry['search_loglik'], 4), fmt(entry['target_top1'])]
        searched = entry['search_top1' if search['metric'] == 'accuracy' else 'search_loglik']
        assert searched == first[tuple(entry['allocation'])]

    inherit, inherit_seeds = tables_of(parts[s['inheritance']['title']])
    for row, entry in zip(inherit[1:], s['inheritance']['rows'], strict=True):
        assert row[1] == entry['init'] and row[2:] == [fmt(v) for v in entry['curve']]
    for row, entry in zip(inherit_seeds[1:], s['inheritance']['per_seed'], strict=True):
        assert row[2:] == [fmt(entry['inherited']), fmt(entry['random']),
                           f"{entry['gap']:+.2f}"]
        greedy = next(r for seed in search['seeds'] if seed['seed'] == entry['seed']
                      for r in seed['picks'] if r['method'] == 'greedy')
        assert entry['inherited'] == greedy['test_top1']  # section 2's fine-tune, reused

    transfer = s['transfer']
    per_pair, summary = tables_of(parts[transfer['title']])
    cells = iter(per_pair[1:])
    seeds = len(transfer['target_seeds'])
    assert seeds == data['meta']['settings']['transfer_seeds'] >= 2

    def pm(value, spread, sign=False):  # the mean, ± the std of the per-seed values
        return f'{value:+.2f} ± {spread:.2f}' if sign else f'{value:.2f} ± {spread:.2f}'

    for pair in transfer['pairs']:
        random, reference = pair['random'], pair['pretrained']
        for init in [random, reference, *pair['methods'].values()]:
            assert len(init['per_seed']) == seeds
            assert init['top1'] == round(float(np.mean(init['per_seed'])), 2) == init['curve'][-1]
            assert init['top1_std'] == round(float(np.std(init['per_seed'], ddof=1)), 2)
        row = next(cells)
        assert row[4:] == [fmt(random['curve'][0]), pm(random['top1'], random['top1_std']),
                           f"≤ {fmt(random['ceiling'])}", '–']
        # the most any init could reach: no method's ratio exceeds it
        assert random['ceiling'] == round(100 / random['top1'], 2)
        assert all(m['ratio'] <= random['ceiling'] + 0.01 for m in pair['methods'].values())
        row = next(cells)
        assert row[1:] == ['pretrained (same arch.)', '–', '–', fmt(reference['curve'][0]),
                           pm(reference['top1'], reference['top1_std']),
                           fmt(reference['ratio']),
                           f"gap {pm(reference['gap'], reference['gap_std'], sign=True)}"]
        assert reference['gap'] == round(reference['top1'] - random['top1'], 2)
        assert transfer['gaps'][pair['target']] == reference['gap']
        gap = reference['top1'] - random['top1']
        for method in transfer['methods']:
            m, row = pair['methods'][method], next(cells)
            # (transfer - random) / (pretrained - random) of the seed means; none without a
            # gain to share
            share = round((m['top1'] - random['top1']) / gap, 2) if gap > 0 else None
            assert m['share'] == share
            assert m['ratio'] == round(m['top1'] / random['top1'], 2)
            share_cell = 'n/a: gap ≤ 0' if share is None else \
                fmt(share) if m['share_std'] is None else pm(share, m['share_std'])
            assert row[1:] == [method, fmt(m['coverage'], 1), fmt(m['seconds']),
                               fmt(m['curve'][0]), pm(m['top1'], m['top1_std']),
                               pm(m['ratio'], m['ratio_std']), share_cell]
    assert transfer['min_gap'] == min(transfer['gaps'].values())
    for row in summary[1:]:
        entry = transfer['summary'][row[0]]
        assert row[1:3] == [fmt(entry['mean_ratio']), fmt(entry['min_ratio'])]
        assert row[4:7] == ['–' if entry['mean_share'] is None else fmt(entry['mean_share']),
                            '–' if entry['min_share'] is None else fmt(entry['min_share']),
                            str(entry['pairs_below_0'])]
        mattering = [p['methods'][row[0]]['share'] for p in transfer['pairs']
                     if p['pretrained']['gap'] >= transfer['gap_goal']]
        assert entry['gap_pairs']['count'] == len(mattering)

    [erf] = tables_of(parts[s['erf']['title']])
    panels = [p for r in s['erf']['rows'] for p in r['panels']]
    for row, panel in zip(erf[1:], panels, strict=True):
        assert row[1] == alloc(panel['allocation'])
        assert row[4:] == [fmt(panel['radius90']), fmt(panel['outer_percent'], 1)]

    [trajectory] = tables_of(parts[s['trajectory']['title']])
    for row, link in zip(trajectory[1:], s['trajectory']['chain'][1:], strict=True):
        assert row[:3] == [str(link['size']), alloc(link['allocation']),
                           fmt(link['score'], decimals)]


def test_headline_table_is_rendered_from_the_json(report):
    """Greedy's pick, the default and the exhaustive pick from inherited and source-fine-tuned
    weights, the default also trained alone on the source; each difference paired by seed."""
    out, data, markdown = report
    headline, search = data['sections']['headline'], data['sections']['search']
    part = sections_of(markdown)[headline['title']]
    main, differences, quality, decomposition = tables_of(part)
    seeds = [seed['seed'] for seed in search['seeds']]
    assert headline['seeds'] == seeds and headline['source_step'] is True
    assert sum(headline['default']) == headline['budget'] == search['budget']
    roles = ('greedy', 'default', 'exhaustive')
    assert [(e['role'], e['start']) for e in headline['summary']] == [
        (role, start) for role in roles for start in ('inherited', 'source', 'alone')
        if start != 'alone' or role == 'default']
    top1 = {(r['role'], r['start'], r['seed']): r['test_top1'] for r in headline['rows']}
    for seed in search['seeds']:
        picks = {r['method']: r for r in seed['picks']}
        for row in headline['rows']:
            if row['seed'] == seed['seed']:
                expected = headline['default'] if row['role'] == 'default' else \
                    picks[row['role']]['allocation']
                assert row['allocation'] == expected
        for role in ('greedy', 'exhaustive'):  # (i) is section 2's fine-tune of the pick
            assert top1[role, 'inherited', seed['seed']] == picks[role]['test_top1']
    for row, entry in zip(main[1:], headline['summary'], strict=True):
        values = [top1[entry['role'], entry['start'], seed] for seed in seeds]
        assert entry['mean'] == pytest.approx(np.mean(values), abs=0.006)
        assert entry['std'] == pytest.approx(np.std(values, ddof=1), abs=0.006)
        assert row[1:] == [', '.join(alloc(a) for a in entry['allocations']),
                           f"{fmt(entry['mean'])} ± {fmt(entry['std'])}"]
    claims = [line for line in part.splitlines() if line.startswith('* ') and ' vs ' in line]
    assert len(claims) == len(headline['comparisons']) == len(differences) - 1 >= 6
    for row, claim, c in zip(differences[1:], claims, headline['comparisons'], strict=True):
        diffs = [top1[(*c['a'], seed)] - top1[(*c['b'], seed)] for seed in seeds]
        mean, se = np.mean(diffs), np.std(diffs, ddof=1) / np.sqrt(len(diffs))
        assert c['diffs'] == [round(d, 2) for d in diffs]
        assert (c['mean'], c['se']) == (pytest.approx(mean, abs=0.006),
                                        pytest.approx(se, abs=0.006))
        verdict = 'tied' if abs(mean) <= se else 'won' if mean > 0 else 'lost'
        assert row[2:] == [f"{c['mean']:+.2f} ± {fmt(c['se'])}", verdict]
        assert f'**{verdict}** ({c["mean"]:+.2f} ± {fmt(c["se"])} points' in claim
    header = tables_of(markdown.split('\n## ')[0])[0]
    assert header[1][0] == '0' and header[1][2] == claims[0][2:]

    # the source step ran once per subnet, from its inherited weights; the default and the
    # first allocations of diagnostic 3a also trained alone
    stored = {p.name.removesuffix('.json') for p in (out / 'work' / 'source').glob('*.json')}
    fine_tuned = {f'{alloc(r["allocation"])}_finetuned' for r in headline['rows']
                  if r['start'] == 'source'}
    alone = {f'{alloc(r["allocation"])}_alone' for r in headline['quality']['rows']}
    assert stored == fine_tuned | alone
    assert alloc(headline['default']) + '_alone' in alone
    rows = headline['quality']['rows']
    assert len(rows) == data['meta']['settings']['alone_count'] == len(quality) - 1
    assert rows[0]['allocation'] == headline['default']
    for row, entry in zip(quality[1:], rows, strict=True):
        assert entry['gap'] == pytest.approx(entry['alone'] - entry['inherited'], abs=0.006)
        assert row == [alloc(entry['allocation']), fmt(entry['inherited']), fmt(entry['alone']),
                       f"{entry['gap']:+.2f}"]
    mean_gap = headline['quality']['mean_gap']
    assert headline['quality']['met'] == (mean_gap <= 1.0)
    assert f'is {mean_gap:+.2f} points on average (goal ≤ 1.00): ' \
        f'{"met" if mean_gap <= 1.0 else "missed"}' in part
    max_se = max(c['se'] for c in headline['comparisons'] if c['searched_vs_default'])
    assert headline['resolution']['max_se'] == max_se
    assert f'is {fmt(max_se)} points (goal ≤ 0.50): {"met" if max_se <= 0.5 else "missed"}' \
        in part

    # the decomposition: search gain at equal weights + weight-sharing gap = the total, per seed
    parts = headline['decomposition']
    by_pair = {(tuple(c['a']), tuple(c['b'])): c for c in headline['comparisons']}
    total, gain, gap = (by_pair[tuple(map(tuple, (parts[k]['a'], parts[k]['b'])))]
                        for k in ('total', 'search_gain', 'weight_sharing_gap'))
    assert parts['total']['a'] == ['greedy', 'source'] and parts['total']['b'] == ['default', 'alone']
    assert parts['weight_sharing_gap']['a'] == ['default', 'source']
    for t, g, w in zip(total['diffs'], gain['diffs'], gap['diffs'], strict=True):
        assert t == pytest.approx(g + w, abs=0.011)  # each rounded to 0.01
    assert parts['source_gap'] == mean_gap and parts['recipe'] == 'uniform'
    assert [row[1] for row in decomposition[1:]] == [
        f"{parts[k]['mean']:+.2f} ± {fmt(parts[k]['se'])}"
        for k in ('total', 'search_gain', 'weight_sharing_gap')] + [f'{mean_gap:+.2f}']
    assert 'super-network recipe `uniform`' in part


def test_every_decimal_in_the_markdown_is_a_json_number(report):
    """No number is typed in: each decimal in the prose and tables (code spans aside) is a
    value of the JSON, printed with as many decimals."""
    _, data, markdown = report
    numbers = json_numbers(data)
    text = re.sub(r'`[^`]*`', '', markdown)
    tokens = re.findall(r'(?<![\w.])[-+]?\d+\.\d+', text)
    assert len(tokens) > 50
    for token in tokens:
        decimals = len(token.split('.')[1])
        assert any(f'{abs(v):.{decimals}f}' == token.lstrip('+-') for v in numbers), token


def test_rendering_is_a_function_of_the_json(report, tmp_path):
    out, _, markdown = report
    (tmp_path / 'report.json').write_bytes((out / 'report.json').read_bytes())
    assert render_report(tmp_path / 'report.json').read_text() == markdown
    assert sorted(p.name for p in tmp_path.glob('*.png')) == sorted(s.FIGURE for s in SECTIONS)


def without_timings(node):
    """The report without what a rerun measures anew: seconds, the command line, how many
    evaluations the search made itself rather than took from its log, and which process ran
    a section."""
    if isinstance(node, dict):
        return {k: without_timings(v) for k, v in node.items()
                if 'seconds' not in k and k not in ('command', 'new_evaluations', 'beside')}
    if isinstance(node, list):
        return [without_timings(v) for v in node]
    return node


def test_resume_reuses_what_the_stopped_run_finished(report, tmp_path):
    out, data, _ = report
    stopped = tmp_path / 'report'
    shutil.copytree(out, stopped)
    for name in ('report.json', 'README.md'):  # stopped before writing them
        (stopped / name).unlink()
    # in one process: the last seed's searches, run beside the others before, give the same
    result = run_tool(ROOT / 'tools/report.py', '--reduced', '--out', stopped, '--data-root',
                      out.parent / 'data', '--seed', '3', '--resume', '--processes', '1')
    resumed = json.loads((stopped / 'report.json').read_text())
    curves = len(list((out / 'work' / 'curves').glob('seed*/*.json')))
    # every subnet trained on the source (alone or fine-tuned): the headline asks for each before
    # the target fine-tunes that start from it
    source_models = len(list((out / 'work' / 'source').glob('*.json')))
    seeds = data['meta']['data']['target_seeds']
    evaluations = sum(len(SearchLog(out / 'work' / f'seed{seed}' / 'search_log.jsonl',
                                    read_only=True)) for seed in seeds)
    assert curves >= 4 and evaluations >= len(seeds) * data['sections']['search']['frontier_size']
    assert source_models >= data['meta']['settings']['alone_count'] + 1
    assert resumed['meta']['reused'] == dict(supernet=True, target_finetuning=len(seeds),
                                             subnet_finetunes=curves,
                                             search_evaluations=evaluations,
                                             source_models=source_models,
                                             transfer_section=True)
    assert 'reused from the stopped run: supernet True' in result.stdout
    assert 'It resumed a stopped run' in (stopped / 'README.md').read_text()
    assert without_timings(resumed['sections']) == without_timings(data['sections'])
    assert resumed['meta']['supernet'] == dict(data['meta']['supernet'],
                                               checkpoint=str(stopped / 'supernet.pth'))

    other_seed = run_tool(ROOT / 'tools/report.py', '--reduced', '--out', stopped, '--seed', '4',
                          '--resume', check=False)
    assert other_seed.returncode != 0 and 'belongs to a run with other settings' in \
        other_seed.stderr
    nothing = run_tool(ROOT / 'tools/report.py', '--reduced', '--out', tmp_path / 'new',
                       '--resume', check=False)
    assert nothing.returncode != 0 and 'nothing to resume' in nothing.stderr


def test_report_refuses_bad_input(tmp_path):
    missing = run_tool(ROOT / 'tools/report.py', '--reduced', '--out', tmp_path,
                       '--supernet', tmp_path / 'none.pth', check=False)
    assert missing.returncode != 0 and 'no such file' in missing.stderr
    seen_tops = tmp_path / 'ten_classes.pth'  # e.g. the digits demo's super-network
    torch.save(dict(state_dict={}, meta=dict(space='resnet_bottleneck_demo', dataset_meta=dict(
        classes=['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
                 'bag', 'ankle-boot']))), seen_tops)
    leaky = run_tool(ROOT / 'tools/report.py', '--reduced', '--out', tmp_path / 'leaky',
                     '--supernet', seen_tops, check=False)
    assert leaky.returncode != 0 and "needs one trained without the target's t-shirt" in \
        leaky.stderr
    budget = run_tool(ROOT / 'tools/report.py', '--budget', '3', '--out', tmp_path, check=False)
    assert budget.returncode != 0 and 'use 5..20 blocks' in budget.stderr
    both = run_tool(ROOT / 'tools/report.py', '--reduced', '--out', tmp_path / 'both',
                    '--supernet', seen_tops, '--warm-start', check=False)
    assert both.returncode == 2 and 'pass one of the two' in both.stderr
    (tmp_path / 'work').mkdir()
    (tmp_path / 'work' / 'mine.txt').write_text('not the report\'s')
    foreign = run_tool(ROOT / 'tools/report.py', '--reduced', '--out', tmp_path, check=False)
    assert foreign.returncode != 0 and 'was not made by tools/report.py' in foreign.stderr
    assert (tmp_path / 'work' / 'mine.txt').exists()


@pytest.mark.parametrize('argv, message', [
    (['--recipe', 'sandwich', '--supernet', __file__], '--recipe: the super-network is given by'),
    (['--supernet-iters', '0'], '--supernet-iters 0: a count of iterations >= 1'),
    (['--source-lr', '0'], '--source-lr 0.0: a learning rate > 0'),
    (['--recipe', 'bignas'], "invalid choice: 'bignas'"),
    (['--source-distill', 'teacher'], "invalid choice: 'teacher'"),
])
def test_recipe_options_are_checked_before_any_work(argv, message, tmp_path, capsys):
    report_tool = load_script(ROOT / 'tools/report.py')
    with pytest.raises(SystemExit) as stopped:
        report_tool.main(['--reduced', '--out', str(tmp_path / 'out'), *argv])
    assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_the_recipe_settings_reach_the_configs(tmp_path):
    from reproduce.context import ReportContext
    from reproduce.settings import REDUCED
    settings = REDUCED.replace(supernet_recipe='sandwich_distill', source_finetune_lr=0.05,
                               source_distill='alone')
    # the teacher would be the default trained alone: stand in a path, nothing is trained here
    ctx_teacher = (str(tmp_path / 'alone.pth'), (1, 2, 2, 1))
    ctx = ReportContext(settings, 0, tmp_path / 'work', tmp_path / 'data',
                        config_dir=ROOT / 'configs')
    ctx.source_root = tmp_path / 'source'  # what prepare_data sets; no data needed to configure
    ctx._teacher = lambda: ctx_teacher
    supernet = ctx.config('supernet', 'supernet')
    assert supernet.model.train_subnets == dict(largest=True, smallest=True, random=2)
    assert supernet.model.inplace_distill == dict(temperature=1.0, weight=1.0)
    step = ctx.source_config('1-2-2-1', 'finetuned')
    assert step.model.type == 'DistilledClassifier' and step.optim_wrapper.optimizer.lr == 0.05
    assert step.model.teacher.checkpoint == ctx_teacher[0]
    assert step.model.teacher.model.backbone.stage_blocks == (1, 2, 2, 1)
    alone = ctx.source_config('1-2-2-1', 'alone')
    assert alone.model.type == 'ImageClassifier' and alone.optim_wrapper.optimizer.lr == 0.2
    with pytest.raises(ValueError, match="supernet_recipe='bignas': one of uniform, sandwich"):
        REDUCED.replace(supernet_recipe='bignas')


# -------------------------------------------------------------------------------------- ERF
@pytest.fixture(scope='module')
def untrained():
    """Subnets of one untrained, seeded demo super-network."""
    allocations = [(1, 1, 1, 1), (3, 4, 6, 3), (2, 6, 14, 6)]
    return dict(allocation_backbones('resnet_bottleneck_demo', allocations, seed=0))


def test_deeper_allocations_and_later_stages_see_further(untrained):
    x = erf_inputs('noise', 2, 48, seed=0)
    radius = {a: erf_stats(effective_receptive_field(b, x, stage=4))['radius90']
              for a, b in untrained.items()}
    assert radius[(1, 1, 1, 1)] < radius[(3, 4, 6, 3)] < radius[(2, 6, 14, 6)]
    stages = [erf_stats(effective_receptive_field(untrained[(3, 4, 6, 3)], x, stage))
              for stage in (1, 2, 3, 4)]
    assert [s['radius90'] for s in stages] == sorted(s['radius90'] for s in stages)
    assert stages[0]['radius90'] < stages[3]['radius90']
    assert stages[0]['outer_percent'] < stages[3]['outer_percent']


def test_erf_is_a_distribution_centred_on_the_centre_output(untrained):
    erf = effective_receptive_field(untrained[(1, 1, 1, 1)], erf_inputs('ones', 1, 32), 4)
    assert erf.shape == (32, 32) and np.isclose(erf.sum(), 1) and (erf >= 0).all()
    centre = erf_stats(erf)['centre']
    assert all(abs(c - 16) <= 1.5 for c in centre)
    # A 3x3 stem and one 3x3 conv per stage (strides 1, 2, 2, 2): 19 px theoretical field.
    rows, cols = np.nonzero(erf > 1e-7)
    assert rows.max() - rows.min() + 1 <= 19 and cols.max() - cols.min() + 1 <= 19


def test_without_relu_the_erf_ignores_the_input_and_leaves_the_model_alone(untrained):
    backbone = untrained[(3, 4, 6, 3)]
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    ones = effective_receptive_field(backbone, erf_inputs('ones', 1, 32), 3, linear=True)
    noise = effective_receptive_field(backbone, erf_inputs('noise', 3, 32), 3, linear=True)
    assert np.allclose(ones, noise, atol=1e-6)
    relu = effective_receptive_field(backbone, erf_inputs('noise', 3, 32), 3)
    assert not np.allclose(relu, noise, atol=1e-4)
    assert any(isinstance(m, torch.nn.ReLU) for m in backbone.modules())
    assert all(torch.equal(before[k], v) for k, v in backbone.state_dict().items())


def test_visualize_erf_tool(tmp_path):
    out = tmp_path / 'erf.png'
    result = run_tool(ROOT / 'tools/visualize_erf.py', '--space', 'resnet_bottleneck_demo',
                      '--allocations', '1,1,1,1', '2,2,3,2', '--images', '2', '--size', '32',
                      '--stage', '3', '--out', out)
    assert out.read_bytes()[:8] == PNG_MAGIC
    record = json.loads(out.with_suffix('.json').read_text())
    assert record['stage'] == 3 and [r['allocation'] for r in record['results']] == [
        [1, 1, 1, 1], [2, 2, 3, 2]]
    for r in record['results']:  # printed as stored
        assert f'r90 {r["radius90"]:6.2f} px' in result.stdout
    bad = run_tool(ROOT / 'tools/visualize_erf.py', '--space', 'resnet_bottleneck_demo',
                   '--allocations', '1,1,1,1', '--stage', '5', '--out', out, check=False)
    assert bad.returncode != 0 and 'searched stages 1..4' in bad.stderr
