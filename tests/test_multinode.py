"""Slurm and several nodes: tools/slurm_train.sh runs srun as mmdetection's does, every rank is
known before the process group exists (Slurm, Open MPI), only rank 0 takes the work-dir lock,
and rank 0 alone decides whether the search fine-tunes the super-network or loads it."""
import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from conftest import ROOT, load_script
from mmengine.config import Config

from common.checkpoint import atomic_save
from common.launcher import launcher_rank
from common.lock import WorkDirBusyError, WorkDirLock
from supernet import build_backbone


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
           'TRAIN_SCRIPT': str(ROOT / 'tools/train.py'),
           'PYTHON': 'python'}  # the stand-in srun runs whatever the script names
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


def _no_flock(fd, operation):
    raise OSError(errno.ENOSYS, 'Function not implemented')  # Lustre mounted noflock


def test_without_flock_the_lock_file_stands_in_and_names_host_and_pid(tmp_path, monkeypatch):
    """Lustre noflock: flock answers ENOSYS (a traceback before). An O_EXCL lock file takes its
    place: a second run is refused naming host and pid, the file goes on release, and a file left
    by a run of this host that no longer runs is taken over."""
    import common.lock
    monkeypatch.setattr(common.lock.fcntl, 'flock', _no_flock)
    host = socket.gethostname()
    with WorkDirLock(tmp_path):
        assert (tmp_path / '.lock.held').read_text() == f'{host} {os.getpid()}'
        with pytest.raises(WorkDirBusyError,
                           match=f'is in use by another run \\(pid {os.getpid()} on host {host}\\)'):
            WorkDirLock(tmp_path).acquire()
    assert not (tmp_path / '.lock.held').exists()
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / '.lock.held').write_text(f'{host} {dead}')  # kill -9'd on this host
    with WorkDirLock(tmp_path):
        assert (tmp_path / '.lock.held').read_text() == f'{host} {os.getpid()}'


def test_a_node_local_flock_is_backed_by_the_lock_file(tmp_path, monkeypatch):
    """NFS local_lock=flock, Lustre localflock: flock succeeds on every node, so the lock file
    decides; one left by another node is refused with its host, pid and what to remove."""
    import common.lock
    from common.lock import node_local_flock
    mounts = (f'server:/export {tmp_path} nfs4 rw,vers=4.2,local_lock=flock,addr=10.0.0.1 0 0\n'
              f'mds@tcp:/fs {tmp_path}/lustre lustre rw,localflock 0 0\n'
              'mds@tcp:/fs /scratch lustre rw,flock 0 0\n/dev/sda1 / ext4 rw 0 0\n')
    assert node_local_flock(tmp_path / 'work', mounts) == f'{tmp_path} is NFS mounted ' \
                                                           'local_lock=flock'
    assert 'Lustre mounted localflock' in node_local_flock(tmp_path / 'lustre/w', mounts)
    assert node_local_flock('/scratch/w', mounts) is None
    assert node_local_flock('/home/w', mounts) is None
    monkeypatch.setattr(common.lock, 'node_local_flock', lambda path: 'NFS local_lock=flock')
    (tmp_path / '.lock.held').write_text('node17 4242')
    with pytest.raises(WorkDirBusyError, match=r'\(pid 4242 on host node17\); if no such run is '
                       r'alive there, remove .*\.lock\.held'):
        WorkDirLock(tmp_path).acquire()
    with WorkDirLock(tmp_path / 'other'):  # flock taken here too, released with the file
        assert (tmp_path / 'other/.lock.held').exists()
    assert not (tmp_path / 'other/.lock.held').exists()
    WorkDirLock(tmp_path / 'other').acquire().release()


def test_a_busy_flock_names_host_and_pid(tmp_path):
    with WorkDirLock(tmp_path), pytest.raises(
            WorkDirBusyError, match=f'pid {os.getpid()} on host {socket.gethostname()}'):
        WorkDirLock(tmp_path).acquire()
    assert not (tmp_path / '.lock.held').exists()  # a local disk: flock alone


def test_the_documented_eight_gpu_detection_search_passes_its_checks(tmp_path, monkeypatch):
    """docs/detection.md's search (num_recal_batches=20) as torchrun's rank 0 of 8 sees it, on a
    GPU node (CUDA stands in as available): every check passes, up to the fine-tuning, which
    is not run. It was refused before (20 is not a multiple of 8)."""

    import engine.pipeline
    import search.plan
    with torch.device('meta'):  # the checkpoint's tensors: shapes only
        state = {f'backbone.{k}': v
                 for k, v in build_backbone('resnet_bottleneck').state_dict().items()}
    monkeypatch.setattr(search.plan, 'load_checkpoint_safely',
                        lambda path, device: {'state_dict': state,
                                              'meta': {'space': 'resnet_bottleneck'}})
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    # FLOPs are recorded at the detector's 800 x 1333 input: a trace that takes a minute on
    # 2 CPU cores, and no check
    monkeypatch.setattr(engine.pipeline, 'ComplexityCounter', lambda space, shape: None)
    reached = []

    def fine_tune_and_search(cfg, plan, *args):
        reached.append(plan)
        raise _Checked

    monkeypatch.setattr(engine.pipeline, '_run_search', fine_tune_and_search)
    for key, value in dict(WORLD_SIZE='8', RANK='0', LOCAL_RANK='0', LOCAL_WORLD_SIZE='8',
                           MASTER_ADDR='127.0.0.1', MASTER_PORT='29500',
                           CUDA_VISIBLE_DEVICES='0,1,2,3,4,5,6,7').items():
        monkeypatch.setenv(key, value)
    tool = load_script(ROOT / 'tools/greedy_search.py', 'greedy_search_8')
    # TRAIN_SCRIPT=tools/greedy_search.py bash tools/dist_train.sh CONFIG 8 ... adds the launcher
    with pytest.raises(_Checked):
        tool.main(['configs/detection/faster_rcnn_supernet_fpn_coco.py', '--checkpoint',
                   'work_dirs/resnet_supernet/epoch_100.pth', '--budget', '16', '--work-dir',
                   str(tmp_path / 'detection_search'), '--launcher', 'pytorch'])
    assert reached[0].settings.evaluator == dict(type='detection', num_recal_batches=20,
                                                 recalibrate='auto')


class _Checked(Exception):
    """Raised where the search would start fine-tuning."""
