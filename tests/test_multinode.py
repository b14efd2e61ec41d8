"""Slurm and several nodes: tools/slurm_train.sh runs srun as mmdetection's does, every rank is
known before the process group exists (Slurm, Open MPI), only rank 0 takes the work-dir lock,
and rank 0 alone decides whether the search fine-tunes the super-network or loads it."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config

from common.checkpoint import atomic_save
from common.launcher import launcher_rank
from common.lock import WorkDirBusyError, WorkDirLock
from supernet import build_backbone

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('environ, rank', [
    ({}, 0),
    ({'RANK': '5', 'SLURM_PROCID': '2', 'OMPI_COMM_WORLD_RANK': '1'}, 5),  # torchrun / mmengine
    ({'SLURM_PROCID': '3', 'SLURM_NTASKS': '8', 'OMPI_COMM_WORLD_RANK': '1'}, 3),  # srun
    ({'OMPI_COMM_WORLD_RANK': '7', 'OMPI_COMM_WORLD_SIZE': '8'}, 7),  # mpirun
    ({'RANK': '', 'SLURM_PROCID': '1'}, 1),
])
def test_rank_comes_from_torchrun_then_slurm_then_open_mpi(environ, rank):
    assert launcher_rank(environ) == rank


def test_a_malformed_rank_is_named():
    with pytest.raises(ValueError, match=r"SLURM_PROCID='x1': allowed a non-negative integer"):
        launcher_rank({'SLURM_PROCID': 'x1'})


def test_slurm_train_runs_srun_with_one_task_per_gpu(tmp_path):
    """A stand-in srun records its arguments and runs the command it was given (the tool's
    --help: it accepts what the script passes)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    record = tmp_path / 'srun.json'
    (bin_dir / 'srun').write_text(
        f'#!{sys.executable}\n'
        'import json, os, sys\n'
        'args = sys.argv[1:]\n'
        'pythonpath = os.environ.get("PYTHONPATH")\n'
        f'json.dump(dict(args=args, pythonpath=pythonpath), open({str(record)!r}, "w"))\n'
        "os.execvp(sys.executable, [sys.executable] + args[args.index('python') + 1:])\n")
    (bin_dir / 'srun').chmod(0o755)
    env = {**os.environ, 'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', 'GPUS': '16',
           'GPUS_PER_NODE': '4', 'CPUS_PER_TASK': '6',
           'SRUN_ARGS': '--quotatype=auto --time=1:00:00',
           'TRAIN_SCRIPT': str(ROOT / 'tools/train.py')}
    env.pop('PYTHONPATH', None)
    config = 'configs/demo/finetune_subnet_digits.py'
    result = subprocess.run(['bash', 'tools/slurm_train.sh', 'gpu', 'search-r50', config,
                             'work_dirs/x', '--amp', '--help'], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '--launcher' in result.stdout  # tools/train.py's --help
    recorded = json.loads(record.read_text())
    assert recorded['args'] == [
        '-p', 'gpu', '--job-name=search-r50', '--gres=gpu:4', '--ntasks=16',
        '--ntasks-per-node=4', '--cpus-per-task=6', '--kill-on-bad-exit=1', '--quotatype=auto',
        '--time=1:00:00', 'python', '-u', str(ROOT / 'tools/train.py'), config,
        '--work-dir=work_dirs/x', '--launcher', 'slurm', '--amp', '--help']
    assert recorded['pythonpath'] == str(ROOT)  # this checkout's code on every node

    usage = subprocess.run(['bash', 'tools/slurm_train.sh', 'gpu', 'job'], capture_output=True,
                           text=True, cwd=ROOT, env=env)
    assert usage.returncode == 2 and 'usage: bash tools/slurm_train.sh PARTITION' in usage.stderr


@pytest.fixture
def search_cfg(tmp_path):
    """The demo search config with a demo super-network checkpoint and no budget: a run gets
    as far as its first check inside the lock."""
    checkpoint = tmp_path / 'supernet.pth'
    state = {f'backbone.{k}': v
             for k, v in build_backbone('resnet_bottleneck_demo').state_dict().items()}
    atomic_save({'state_dict': state, 'meta': {'space': 'resnet_bottleneck_demo'}}, checkpoint)
    cfg = Config.fromfile(ROOT / 'configs/demo/search_digits.py')
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint),
                                       prefix='backbone.')
    cfg.search_cfg.budget.limit = None
    return cfg


@pytest.mark.parametrize('slurm_rank, takes_lock', [('0', True), ('1', False)])
def test_only_rank_zero_takes_the_work_dir_lock(search_cfg, monkeypatch, slurm_rank, takes_lock):
    """Under srun RANK is unset until mmengine sets it: SLURM_PROCID says who locks. Rank 0 of
    the job holds the lock here; task 0 is refused like any second run, task 1 goes on."""
    from engine.pipeline import run_search
    monkeypatch.delenv('RANK', raising=False)
    monkeypatch.setenv('SLURM_PROCID', slurm_rank)
    with WorkDirLock(search_cfg.work_dir):
        if takes_lock:
            with pytest.raises(WorkDirBusyError, match='is in use by another run'):
                run_search(search_cfg)
        else:
            with pytest.raises(ValueError, match='search_cfg.budget.limit is not set'):
                run_search(search_cfg)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _decide(rank, port, folders, out):
    """One rank of a 2-process gloo group: does each folder's finetuned.pth get loaded?"""
    torch.distributed.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                                         rank=rank, world_size=2)
    from engine.pipeline import finetuned_on_rank_zero
    answers = []
    for folder in folders[rank]:
        try:
            answers.append(finetuned_on_rank_zero(os.path.join(folder, 'finetuned.pth')))
        except FileNotFoundError as err:
            answers.append(str(err))
    Path(out, f'rank{rank}.json').write_text(json.dumps(answers))
    # gloo aborts a rank ("terminate called without an active exception") that tears the group
    # down while its peer still reads the last broadcast: wait for both first
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_rank_zero_decides_whether_to_fine_tune_or_load(tmp_path):
    """Work dirs that the nodes do not share: each rank looks at its own folder. Rank 0's
    answer holds on every rank; a rank missing the file rank 0 loads says what to share."""
    folders = {}
    for rank in (0, 1):
        for case in ('only_rank1_has_it', 'only_rank0_has_it'):
            folder = tmp_path / f'{case}_rank{rank}'
            folder.mkdir()
            if case == f'only_rank{rank}_has_it':
                (folder / 'finetuned.pth').write_bytes(b'')
            folders.setdefault(rank, []).append(str(folder))
    mp.spawn(_decide, args=(free_port(), folders, str(tmp_path)), nprocs=2)
    rank0 = json.loads((tmp_path / 'rank0.json').read_text())
    rank1 = json.loads((tmp_path / 'rank1.json').read_text())
    assert rank0 == [False, True]
    assert rank1[0] is False  # rank 0 has none: both fine-tune, though rank 1 has one
    assert 'rank 0 has it, rank 1 does not; the work dir must be on a filesystem every node ' \
           'shares' in rank1[1]
