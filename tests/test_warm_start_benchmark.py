"""benchmarks/warm_start.py in its reduced form: every arm trains and is scored on the same
children, and the goal is judged."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDUCED = ['--max-depths', '2,2,3,2', '--standalone', '1,1,2,1', '--blocks', '5', '--steps', '2',
           '--standalone-steps', '2', '--seeds', '0', '1', '--children', '2', '--source-train',
           '64', '--source-test', '32', '--batch', '8', '--recal-images', '16']


def test_the_reduced_benchmark_scores_every_arm():
    result = subprocess.run([sys.executable, 'benchmarks/warm_start.py', *REDUCED],
                            capture_output=True, text=True, cwd=ROOT, timeout=600,
                            # one thread: tiny tensors, and OpenMP's spinning threads slow a
                            # shared machine down by orders of magnitude
                            env={**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'})
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    children = re.search(r'children of 5 blocks: (.*)', out)[1].split(', ')
    assert len(children) == 2 and all(sum(map(int, c.split('-'))) == 5 for c in children)
    for arm in ('warm K', 'scratch K', 'scratch 4K'):
        assert len(re.findall(rf'seed \d {arm} +\((\d+) steps', out)) == 2, out
        mean, std = re.search(rf'  {arm} +([\d.]+)% ± ([\d.]+)%', out).groups()
        assert 0 <= float(mean) <= 100 and float(std) >= 0
    assert re.search(r'seed 0 scratch 4K +\(8 steps', out)
    assert re.search(r'goal .*: (met|not met)$', out, re.M)
