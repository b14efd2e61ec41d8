"""scripts/gpu_smoke.py: its dry run takes every check's code path on CPU at toy sizes (the
two-rank stage on gloo), the real run refuses a machine without CUDA in one line, and the
environment check fails on an mmcv without compiled ops or without kernels for the GPU."""
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT, load_script

SMOKE = [sys.executable, str(ROOT / 'scripts/gpu_smoke.py')]
CHECKS = {'environment', 'supernet_training', 'supernet_training_amp', 'supernet_vs_subnet',
          'faster_rcnn', 'collectives', 'distributed'}


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
    assert checks['environment']['mmcv_nms'] == 'ok on cpu'  # a compiled op ran
    distributed = checks['distributed']  # torchrun --nproc_per_node=2, gloo
    assert distributed['backend'] == 'gloo' and distributed['world_size'] == 2
    assert distributed['ddp_steps'] == report['sizes']['dist_iters']
    assert len(distributed['allocations']) > 1  # the depth changed between DDP steps
    assert distributed['parameters_equal'] and distributed['bn_recal_max_error'] < 1e-5
    assert abs(distributed['sharded_score'] - distributed['plain_score']) < 1e-5
    assert distributed['collected_results'] == 2 * 2 * report['sizes']['dist_batch']
    assert '7 ok, 0 failed' in result.stdout


def test_an_mmcv_without_compiled_ops_fails_the_environment_check(tmp_path):
    out = tmp_path / 'smoke.json'
    argv = [SMOKE[1], '--dry-run', '--only', 'environment', '--out', str(out)]
    code = ('import runpy, sys; sys.modules["mmcv._ext"] = None; '  # importing it fails
            f'sys.argv = {argv!r}; runpy.run_path({SMOKE[1]!r}, run_name="__main__")')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 1, result.stderr[-3000:]
    environment = json.loads(out.read_text())['checks']['environment']
    assert not environment['ok'] and 'has no compiled ops' in environment['error']


def load_smoke():
    return load_script(SMOKE[1], 'gpu_smoke')


@pytest.mark.parametrize('capability, arch_list, kernels', [
    ((8, 6), ['7.5', '8.0', '9.0'], 'sm_80'),     # a cubin runs on later minor versions
    ((8, 0), ['8.6', '9.0'], None),               # not on earlier ones
    ((7, 5), ['8.0', '8.6', '9.0'], None),        # T4 against the old default list
    ((12, 0), ['8.0', '9.0+PTX'], 'PTX compute_90'),  # PTX: any later GPU
    ((12, 0), ['10.0', '12.0+PTX'], 'sm_120'),
    ((9, 0), ['9.0a'], 'sm_90a'), ((10, 0), ['9.0a+PTX'], 'PTX compute_90'),
    ((10, 0), ['9.0a'], None),
])
def test_the_gpu_architecture_is_matched_against_the_wheels(capability, arch_list, kernels):
    assert load_smoke().covering_arch(capability, arch_list) == kernels


def test_a_gpu_the_wheel_has_no_kernels_for_is_named_in_one_line(monkeypatch):
    """check_environment on a pretend T4 with mmcv built for the old default list."""
    smoke = load_smoke()
    import mmcv.ops
    monkeypatch.setattr(torch.cuda, 'get_device_properties', lambda device: SimpleNamespace(
        name='Tesla T4', major=7, minor=5, total_memory=16 * 2**30))
    monkeypatch.setattr(torch.cuda.nccl, 'version', lambda: (2, 27, 3))
    monkeypatch.setattr(torch.backends.cudnn, 'version', lambda: 91000)
    monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: '13.0')
    monkeypatch.setattr(smoke, 'mmcv_build_info', lambda: dict(
        tag='cuda13.0-sm80_86_90', cuda='13.0', arch_list=['8.0', '8.6', '9.0']))
    with pytest.raises(RuntimeError) as err:
        smoke.check_environment(torch.device('cuda'), {}, None)
    assert str(err.value) == (
        "mmcv's ops were built for 8.0;8.6;9.0: no kernel for this GPU (7.5) and no PTX it can "
        'compile; rebuild with TORCH_CUDA_ARCH_LIST=7.5+PTX bash scripts/setup.sh')


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
