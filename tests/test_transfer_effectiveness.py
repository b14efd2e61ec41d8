"""benchmarks/transfer_effectiveness.py runs the report's transfer study
(``reproduce.hetero.fine_tune_pairs``): its gap-only targets get the same baselines a pair gives
them, and the command line prints every pair's figures from the study's."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from analysis.smallnets import load_transfer_data
from reproduce.hetero import METHOD_ORDER, fine_tune_pairs, pair_figures

ROOT = Path(__file__).resolve().parents[1]
TINY = ['--source-train', '60', '--labels-per-class', '1', '--target-test', '10', '--size', '16',
        '--epochs', '2', '--evaluate-every', '1', '--source-epochs', '1', '--seeds', '0', '1']


def test_a_target_alone_gets_the_baselines_a_pair_gives_it():
    torch.set_num_threads(1)
    data = load_transfer_data(60, 5, 10, 16, target='tops')
    pair = ('resnet18/4', 'resnet10x3/8')
    with_pair = fine_tune_pairs(data, [pair], [0, 1], 0, 2, 1, 1)
    alone = fine_tune_pairs(data, [], [0, 1], 0, 2, 1, 1, targets=[pair[1]])
    assert alone['baselines'] == with_pair['baselines']
    assert alone['references'] == with_pair['references']
    assert not alone['sources'] and alone['runs'] == {0: {}, 1: {}}
    curves = with_pair['baselines'][1][pair[1]]
    assert len(curves['random']) == len(curves['pretrained']) == 2  # tested after each epoch
    assert set(with_pair['runs'][0]) == {(*pair, m) for m in METHOD_ORDER}
    figures = pair_figures(with_pair, *pair)
    # the pair's top-1 is the mean over the target seeds of each seed's last test
    for method in METHOD_ORDER:
        finals = [with_pair['runs'][t][(*pair, method)]['curve'][-1] for t in (0, 1)]
        assert figures['methods'][method]['per_seed'] == finals
        assert abs(figures['methods'][method]['top1'] - sum(finals) / 2) <= 0.005 + 1e-9


def run(*args):
    return subprocess.run([sys.executable, 'benchmarks/transfer_effectiveness.py', *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
                          env={**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'})


def test_the_command_line_prints_every_pair_and_method():
    result = run(*TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    gaps = re.findall(r'^  (\S+) +random ([\d.]+)  pretrained ([\d.]+)  gap ([+-][\d.]+) \+-',
                      out, re.MULTILINE)
    assert [g[0] for g in gaps] == ['resnet10x3/8', 'resnet(2,2,8,2)/4', 'mnasnet(2x5)/2']
    for _, random, pretrained, gap in gaps:
        assert abs(float(pretrained) - float(random) - float(gap)) <= 0.06
    rows = re.findall(r'^(\S+ -> \S+) +[\d.]+ +([\d.]+) +[\d.]+ +\S+(.*)   ([\d/]+)$', out,
                      re.MULTILINE)
    assert len(rows) == 9  # every source into every target
    for _, random, cells, coverage in rows:
        methods = re.findall(r'([\d.]+) \(([\d.]+)x ', cells)
        assert len(methods) == len(coverage.split('/')) == len(METHOD_ORDER)
        for top1, ratio in methods:  # ratio = the method's top-1 / random init's
            assert float(random) == 0 or abs(float(top1) / float(random) - float(ratio)) < 6e-4
    summary = re.findall(r'^(dpiat|hmt|tli) +([\d.]+) +([\d.]+) +(\d) ', out, re.MULTILINE)
    assert [s[0] for s in summary] == METHOD_ORDER
    for _, mean, low, _ in summary:
        assert float(low) <= float(mean)
    assert 'Kendall tau' in out


def test_gap_only_runs_no_transfer():
    result = run(*TINY, '--gap-only')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'mean gap' in result.stdout and ' -> ' not in result.stdout


def test_each_target_takes_its_own_size_options():
    spec = importlib.util.spec_from_file_location(
        'transfer_effectiveness', ROOT / 'benchmarks' / 'transfer_effectiveness.py')
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    tops = benchmark.parse_args(['--labels-per-class', '3'])
    assert (tops.target_train, tops.epochs, tops.evaluate_every) == (15, 12, 12)
    digits = benchmark.parse_args(['--target', 'digits'])
    assert (digits.target_train, digits.epochs, digits.evaluate_every) == (500, 3, 1)
    for wrong in (['--target-train', '50'], ['--target', 'digits', '--labels-per-class', '3']):
        with pytest.raises(SystemExit):
            benchmark.parse_args(wrong)
