"""scripts/gpu_smoke.py: its dry run takes every check's code path on CPU at toy sizes, and the
real run refuses a machine without CUDA in one line."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SMOKE = [sys.executable, str(ROOT / 'scripts/gpu_smoke.py')]
CHECKS = {'environment', 'supernet_training', 'supernet_training_amp', 'supernet_vs_subnet',
          'faster_rcnn', 'collectives'}


def smoke(*args, timeout=600):
    return subprocess.run([*SMOKE, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, 'OMP_NUM_THREADS': '1'})


def test_dry_run_passes_every_check_on_cpu(tmp_path):
    out = tmp_path / 'smoke.json'
    result = smoke('--dry-run', '--out', out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    checks = report['checks']
    assert set(checks) == CHECKS and report['dry_run'] and report['device'] == 'cpu'
    assert all(check['ok'] for check in checks.values()), checks
    training = checks['supernet_training']
    assert training['optim_wrapper'] == 'OptimWrapper' and training['images_per_s'] > 0
    assert training['iterations'] == report['sizes']['iters']
    assert checks['supernet_training_amp']['skipped']  # fp16 AmpOptimWrapper needs CUDA
    assert checks['supernet_vs_subnet']['fp32_ratio'] > 0
    assert len(checks['faster_rcnn']['detections']) == report['sizes']['det_batch']
    assert checks['faster_rcnn']['roi_losses']  # the RoI head (mmcv's RoIAlign) ran
    collectives = checks['collectives']
    assert collectives['backend'] == 'gloo' and collectives['tensor_devices'] == ['cpu']
    assert collectives['collectives'] == ['all_reduce', 'broadcast']
    assert '6 ok, 0 failed' in result.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the refusal where no GPU is')
def test_real_run_refuses_a_machine_without_cuda(tmp_path):
    result = smoke('--out', tmp_path / 'smoke.json', timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith('gpu_smoke.py: error: no CUDA device')
    assert not (tmp_path / 'smoke.json').exists()


@pytest.mark.gpu
def test_smoke_passes_on_the_gpu(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    out = tmp_path / 'smoke.json'
    result = smoke('--out', out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert all(check['ok'] for check in json.loads(out.read_text())['checks'].values())
