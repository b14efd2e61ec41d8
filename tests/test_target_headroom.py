"""benchmarks/target_headroom.py --records: the headroom figures of saved per-image scores, with
the count within one standard error projected to more search images."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, 'benchmarks/target_headroom.py', *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, 'PYTHONPATH': str(ROOT)})


def test_projection_counts_the_gaps_that_stay_inside_the_shrunk_noise(tmp_path):
    rng = np.random.default_rng(0)
    images = 4000
    best = rng.normal(0, 1, images)
    se = best.std(ddof=1) / np.sqrt(images)  # what the bootstrap estimates
    # 2 exact copies of the best (always within), 3 at 0.6 SE (within until SE / sqrt(2),
    # out from SE / sqrt(4) = 0.5 SE on), 10 at 5 SE (never within)
    rows = [best] + [best] * 2 + [best - 0.6 * se] * 3 + [best - 5 * se] * 10
    loglik = np.stack(rows)
    path = tmp_path / 'per_image.npz'
    np.savez(path, allocations=np.arange(len(rows))[:, None], correct=(loglik > 0) * 1.0,
             loglik=loglik)
    result = run('--records', path, '--project', 2, 4, 16, '--subsets')
    assert result.returncode == 0, result.stderr[-2000:]
    part = result.stdout.split('[log-likelihood]')[1]
    assert re.search(r'within 1 SE: 5 of 16 \(31\.2 %; criterion <= 2 %: MISS\)', part)
    projected = [int(n) for n in re.findall(r'projected to \d+ search images .*?within 1 SE '
                                            r'(\d+)', part)]
    assert projected == [5, 2, 2]
    assert f'projected to {16 * images} search images' in part


def test_records_must_exist_and_one_source_is_needed(tmp_path):
    missing = run('--records', tmp_path / 'none.npz')
    assert missing.returncode == 2 and 'none.npz: no such file' in missing.stderr
    neither = run()
    assert neither.returncode == 2 and '--supernet is required (or --records' in neither.stderr
