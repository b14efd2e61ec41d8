"""benchmarks/warm_start.py in its reduced form: every arm trains and is scored on the same
subnets, searches the target and tests its pick, and the goal is judged."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDUCED = ['--max-depths', '2,2,3,2', '--standalone', '1,1,2,1', '--blocks', '5', '--steps', '2',
           '--standalone-steps', '2', '--seeds', '0', '1', '--subnets', '2', '--source-train',
           '64', '--source-test', '32', '--batch', '8', '--recal-images', '16', '--target-train',
           '10', '--target-held-out', '20', '--target-steps', '2', '--subnet-steps', '2']


def test_the_reduced_benchmark_scores_every_arm():
    result = subprocess.run([sys.executable, 'benchmarks/warm_start.py', *REDUCED],
                            capture_output=True, text=True, cwd=ROOT, timeout=600,
                            # one thread: tiny tensors, and OpenMP's spinning threads slow a
                            # shared machine down by orders of magnitude
                            env={**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'})
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    subnets = re.search(r'subnets of 5 blocks: (.*)', out)[1].split(', ')
    assert len(subnets) == 2 and all(sum(map(int, c.split('-'))) == 5 for c in subnets)
    source, target = out.split("greedy pick's target test top-1")
    for arm in ('warm K', 'scratch K', 'scratch 4K'):
        runs = re.findall(rf'seed \d {arm} +\((\d+) steps.*greedy pick ([\d-]+) target test '
                          r'top-1 ([\d.]+)%', out)
        assert len(runs) == 2, out
        # the search spends the budget; one of 10 held-out images is 10 %
        assert all(sum(map(int, pick.split('-'))) == 5 and float(top1) % 10 == 0
                   for _, pick, top1 in runs)
        for part in (source, target):
            mean, std = re.search(rf'  {arm} +([\d.]+)% ± ([\d.]+)%', part).groups()
            assert 0 <= float(mean) <= 100 and float(std) >= 0
        picks = re.search(rf'  {arm} .*\(picks: (.*)\)', target)[1].split(', ')
        assert picks == [pick for _, pick, _ in runs]
    assert re.search(r'seed 0 scratch 4K +\(8 steps', out)
    assert re.search(r'goal .*: (met|not met)$', out, re.M)
