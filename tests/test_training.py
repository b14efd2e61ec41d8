"""Super-network training through mmengine: depth sampling, DDP, resume, safe checkpoints."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint
from mmpretrain.registry import DATASETS, MODELS
from PIL import Image
from scipy.stats import chisquare

from common.checkpoint import UnsafeCheckpointError, atomic_save, load_checkpoint_safely
from supernet import get_space
from archdata import load_digits, load_fashion_mnist, prepare_demo_source
from engine import sample_allocation
from engine.launch import set_data_root, build_runner, runner_from_args, training_parser

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / 'configs/demo/supernet_resnet_fashion.py'
TRAIN = [sys.executable, str(ROOT / 'tools/train_supernet.py')]


@pytest.fixture(scope='module')
def tiny_source(tmp_path_factory):
    return prepare_demo_source(tmp_path_factory.mktemp('fashion'), train_per_class=12,
                               val_per_class=3)


def tiny_overrides(max_iters, checkpoint_interval=100, record=True):
    return {'train_cfg.max_iters': max_iters, 'train_cfg.val_interval': max_iters,
            'train_dataloader.batch_size': 8, 'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False, 'val_dataloader.num_workers': 0,
            'val_dataloader.persistent_workers': False, 'val_cfg.bn_recalibration_batches': 2,
            'default_hooks.checkpoint.interval': checkpoint_interval,
            'custom_hooks.0.record': record, 'default_hooks.logger.interval': 1}


def tiny_run_options(data_root, max_iters, checkpoint_interval=100, record=True):
    overrides = tiny_overrides(max_iters, checkpoint_interval, record)
    return ['--data-root', str(data_root), '--cfg-options',
            *(f'{key}={value}' for key, value in overrides.items())]


def read_records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_sampling_is_uniform_per_stage_and_seeded_by_iteration():
    space = get_space('resnet_bottleneck')
    draws = np.array([sample_allocation(space, 7, it) for it in range(20000)])
    for stage, max_depth in enumerate(space.max_depths):
        counts = np.bincount(draws[:, stage], minlength=max_depth + 1)[1:]
        assert counts.size == max_depth and counts.min() > 0
        assert chisquare(counts).pvalue > 1e-3, (stage, counts)
    # Stages are drawn independently: no stage pair is strongly correlated.
    corr = np.corrcoef(draws.T)
    assert np.abs(corr[np.triu_indices(4, 1)]).max() < 0.05
    # Two ranks (or a resumed run) with the same seed draw the same sequence; another seed not.
    assert [sample_allocation(space, 7, it) for it in range(50)] == [tuple(d) for d in draws[:50]]
    assert [sample_allocation(space, 8, it) for it in range(50)] != [tuple(d) for d in draws[:50]]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_torchrun_ranks_sample_alike_and_end_identical(tiny_source, tmp_path):
    # with the sandwich rule: four subnets per step, their gradients reduced once per step
    sandwich = ['model.train_subnets.largest=True', 'model.train_subnets.smallest=True',
                'model.train_subnets.random=2']
    cmd = ['bash', str(ROOT / 'tools/dist_train.sh'), str(DEMO_CONFIG), '2',
           '--dist-backend', 'gloo', '--work-dir', str(tmp_path),
           *tiny_run_options(tiny_source, max_iters=4), *sandwich]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PORT': str(free_port()),
           'PATH': f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}'}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    rank0, rank1 = (read_records(tmp_path / f'depth_samples.rank{r}.jsonl') for r in (0, 1))
    steps = [r['allocations'] for r in rank0 if 'allocations' in r]
    assert len(steps) == 4 and all(len(step) == 4 for step in steps)
    space = get_space('resnet_bottleneck_demo')
    assert all(step[0] == list(space.max_depths) and step[-1] == list(space.min_depths)
               for step in steps)
    assert len({tuple(step[1]) for step in steps}) > 1  # it really samples
    assert rank0 == rank1  # same depths every iteration and the same final parameters
    assert 'parameter_sha256' in rank0[-1]


def test_resume_after_kill_continues_the_sampling_sequence(tiny_source, tmp_path):
    options = [str(DEMO_CONFIG), '--work-dir', str(tmp_path),
               *tiny_run_options(tiny_source, max_iters=60, checkpoint_interval=5),
               'randomness.seed=None']  # the seed must come back from the checkpoint
    log = tmp_path / 'first_run.log'  # a file, not a pipe: a full pipe would stall the run
    with open(log, 'w') as out:
        first = subprocess.Popen(TRAIN + options, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while not (tmp_path / 'iter_10.pth').exists():
        assert first.poll() is None, log.read_text()[-3000:]
        assert time.time() < deadline
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (tmp_path / 'iter_60.pth').exists(), 'the run ended before it could be killed'
    # the newest complete checkpoint (last_checkpoint may be empty: killed while it was written)
    last = max(tmp_path.glob('iter_*.pth'), key=lambda p: int(p.stem.split('_')[1]))
    resumed_from = load_checkpoint_safely(last)['meta']['iter']
    killed_at = max(r['iter'] for r in read_records(tmp_path / 'depth_samples.rank0.jsonl'))

    second = subprocess.run(TRAIN + options + ['--resume'], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-4000:]
    records = [r for r in read_records(tmp_path / 'depth_samples.rank0.jsonl') if 'allocation' in r]
    iters = [r['iter'] for r in records]
    before, after = iters[:iters.index(killed_at) + 1], iters[iters.index(killed_at) + 1:]
    assert before == list(range(len(before)))
    assert after == list(range(resumed_from, 60))  # picks up at the checkpoint, not at 0
    seed = load_checkpoint_safely(tmp_path / 'iter_60.pth')['meta']['seed']
    space = get_space('resnet_bottleneck_demo')
    for record in records:  # one sequence across the kill: repeated iterations draw alike
        assert tuple(record['allocation']) == sample_allocation(space, seed, record['iter'])


class _WritesMarker:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_checkpoint_with_foreign_object_is_refused_unexecuted(tmp_path):
    marker = tmp_path / 'was_executed'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'meta': {'x': _WritesMarker(marker)}}, path)
    with pytest.raises(UnsafeCheckpointError,
                       match=r'evil.pth: refused to load the global getattr, which archtransfer'):
        _load_checkpoint(str(path))  # mmengine's loader: load_from, resume, init_cfg
    assert not marker.exists()


def test_interrupted_atomic_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / 'subnet.pth'
    atomic_save({'state_dict': {'w': torch.ones(3)}}, path)

    def dies_midway(obj, f, *args, **kwargs):
        f.write(b'PK\x03\x04 half a checkpoint')
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, 'save', dies_midway)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({'state_dict': {'w': torch.zeros(3)}}, path)
    monkeypatch.undo()
    assert torch.equal(load_checkpoint_safely(path)['state_dict']['w'], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['subnet.pth']


def test_runner_checkpoint_interrupted_mid_write(tiny_source, tmp_path, monkeypatch):
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'interrupted_write'
    runner = build_runner(cfg, data_root=str(tiny_source),
                          cfg_options=tiny_overrides(2, checkpoint_interval=2, record=False))
    runner.train()
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_2.pth')

    def dies_midway(checkpoint, filename, *args, **kwargs):
        Path(filename).write_bytes(b'half a checkpoint')
        raise KeyboardInterrupt
    # what mmengine's Runner.save_checkpoint calls to write the file
    monkeypatch.setattr('mmengine.runner.runner.save_checkpoint', dies_midway)
    with pytest.raises(KeyboardInterrupt):
        runner.save_checkpoint(str(tmp_path), 'iter_4.pth')
    monkeypatch.undo()
    assert not list(tmp_path.glob('iter_4.pth*'))
    checkpoint = load_checkpoint_safely(tmp_path / 'iter_2.pth')  # includes message_hub state
    assert checkpoint['meta']['iter'] == 2 and 'message_hub' in checkpoint

    # killed while CheckpointHook rewrote last_checkpoint in place: --resume takes the newest
    # complete checkpoint instead of mmengine's '' (and a missing file the same way)
    for broken in ('', None):
        if broken is None:
            (tmp_path / 'last_checkpoint').unlink()
        else:
            (tmp_path / 'last_checkpoint').write_text(broken)
        cfg.resume = True
        cfg.experiment_name = f'resumed_{broken is None}'
        resumed = build_runner(cfg, data_root=str(tiny_source),
                               cfg_options=tiny_overrides(2, checkpoint_interval=2, record=False))
        resumed.load_or_resume()
        assert resumed.iter == 2


@pytest.mark.parametrize('name', ['resnet_bottleneck', 'mobilenet_v2', 'mnasnet'])
def test_imagenet_configs_build_the_paper_recipe(name):
    cfg = Config.fromfile(ROOT / f'configs/supernet/{name}_imagenet.py')
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
    assert cfg.model.head.loss.label_smooth_val == 0.1
    warmup, steps = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 5) and steps.milestones == [30, 60, 80]
    assert cfg.find_unused_parameters is True
    import engine.registry  # noqa: F401  (what custom_imports does)
    model = MODELS.build(cfg.model)
    assert model.backbone.space.name == name
    with torch.no_grad():
        scores = model.eval()(torch.randn(1, 3, 64, 64), mode='tensor')
    assert scores.shape == (1, 1000)


def write_tiny_imagenet(root):
    """mmpretrain's ImageNet layout with annotation files: train/, val/, meta/{train,val}.txt."""
    images, labels = load_fashion_mnist('test')
    for split, count in (('train', 4), ('val', 2)):
        lines = []
        for i in range(count):
            wnid = f'n{labels[i]:08d}'
            (root / split / wnid).mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i]).convert('RGB').resize((80, 80)).save(
                root / split / wnid / f'{i}.JPEG')
            lines.append(f'{wnid}/{i}.JPEG {labels[i]}')
        (root / 'meta').mkdir(exist_ok=True)
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')


def write_imagenet_subset(root, lists: bool):
    """Three classes of digits as ImageNet: class folders train/<wnid>/ and val/<wnid>/, or (lists)
    train/<wnid>/ and a flat val/ as ImageNet's validation images come, with meta/{train,val}.txt.
    Returns {split: {relative path: label}}."""
    images, labels = load_digits()
    wnids = ('n01440764', 'n01443537', 'n01484850')  # sorted: folder order is label order
    expected = {'train': {}, 'val': {}}
    for label, wnid in enumerate(wnids):
        for i, index in enumerate(np.flatnonzero(labels == label)[:5]):
            split = 'train' if i < 3 else 'val'
            name = f'{split}_{index}.JPEG'
            relative = name if split == 'val' and lists else f'{wnid}/{name}'
            (root / split / relative).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[index]).convert('RGB').save(root / split / relative)
            expected[split][relative] = label
    if lists:
        (root / 'meta').mkdir()
        for split, files in expected.items():
            (root / 'meta' / f'{split}.txt').write_text(
                ''.join(f'{path} {label}\n' for path, label in files.items()))
    return expected


@pytest.mark.parametrize('lists', [False, True], ids=['class-folders', 'meta-lists'])
def test_imagenet_config_reads_either_layout_of_a_class_subset(tmp_path, lists):
    expected = write_imagenet_subset(tmp_path / 'imagenet', lists)
    cfg = Config.fromfile(ROOT / 'configs/supernet/resnet_bottleneck_imagenet.py')
    set_data_root(cfg, str(tmp_path / 'imagenet'))  # what --data-root does
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        dataset = DATASETS.build(cfg[loader].dataset)
        prefix = str(tmp_path / 'imagenet' / split) + os.sep
        read = {}
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            assert info['img_path'].startswith(prefix)
            read[info['img_path'][len(prefix):]] = int(info['gt_label'])
        assert read == expected[split], loader


def test_imagenet_config_trains_two_iterations(tmp_path):
    write_tiny_imagenet(tmp_path / 'imagenet')
    cfg = Config.fromfile(ROOT / 'configs/supernet/resnet_bottleneck_imagenet.py')
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = 'tiny_imagenet'
    small = {'train_dataloader.batch_size': 2, 'val_dataloader.batch_size': 2,
             'train_dataloader.num_workers': 0, 'val_dataloader.num_workers': 0,
             'train_dataloader.dataset.pipeline.1.scale': 64,
             'val_dataloader.dataset.pipeline.1.scale': 72,
             'val_dataloader.dataset.pipeline.2.crop_size': 64,
             'train_cfg.max_epochs': 1, 'val_evaluator.topk': (1, )}
    runner = build_runner(cfg, data_root=str(tmp_path / 'imagenet'), cfg_options=small)
    runner.train()
    assert runner.iter == 2
    assert set(runner.val_loop.last_results) == {'max', 'min'}
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_validation_recalibrates_on_fresh_training_batches_each_time(tiny_source, tmp_path):
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'recalibration'
    runner = build_runner(cfg, data_root=str(tiny_source),
                          cfg_options={**tiny_overrides(1, record=False),
                                       'val_cfg.bn_recalibration_batches': 3})
    runner.train()  # builds the loops; the training loader's InfiniteSampler is in use
    loop = runner.val_loop
    assert loop._recalibrate_bn() == 3
    assert loop._recalibrate_bn() == 3  # and again at the next validation


@pytest.mark.parametrize('flags, scaled', [([], True), (['--auto-scale-lr'], True),
                                           (['--no-auto-scale-lr'], False)])
def test_lr_follows_the_total_batch_unless_opted_out(tmp_path, flags, scaled):
    config = ROOT / 'configs/supernet/resnet_bottleneck_imagenet.py'
    base_lr = Config.fromfile(config).optim_wrapper.optimizer.lr  # meant for 2,048 images
    args = training_parser('test').parse_args([
        str(config), '--work-dir', str(tmp_path), *flags,
        # no experiment_name: 'lr1' named two of these runners, and two built in the same second
        # shared one logger, so one's log lacked its own line; build_runner names each anew
        '--cfg-options', 'train_dataloader.batch_size=4'])
    runner = runner_from_args(args)
    # what Runner.train() does before the first iteration
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    expected = base_lr * 4 / 2048 if scaled else base_lr
    lrs = [group['lr'] for group in runner.optim_wrapper.param_groups]
    assert lrs == pytest.approx([expected] * len(lrs))
    log = Path(runner.log_dir, f'{runner.timestamp}.log').read_text()
    line = next(line for line in log.splitlines() if 'auto_scale_lr' in line and 'batch of' in line)
    assert f'{base_lr:g}' in line and '2048' in line and '1 x 4 = 4' in line
    assert (f'-> {expected:g}' in line) == scaled


def test_validation_log_names_each_allocation_and_warns_of_too_few_recalibration_batches(
        tiny_source, tmp_path):
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'allocation_log'
    asked = 1000  # far more than 120 training images in batches of 8 give
    runner = build_runner(cfg, data_root=str(tiny_source),
                          cfg_options={**tiny_overrides(1, record=False),
                                       'val_cfg.bn_recalibration_batches': asked})
    runner.train()  # one iteration, then validation of 'max' and 'min'
    given = len(runner.val_loop._bn_loader)
    assert given < asked
    lines = Path(runner.log_dir, f'{runner.timestamp}.log').read_text().splitlines()
    space = get_space('resnet_bottleneck_demo')
    named = [next(i for i, line in enumerate(lines) if f"allocation '{name}'" in line
                  and str(tuple(depths)) in line)
             for name, depths in (('max', space.max_depths), ('min', (1,) * len(space.max_depths)))]
    val_lines = [i for i, line in enumerate(lines) if '(val) [1/1]' in line]  # 1 batch each
    # each allocation's line comes before its own validation iteration, then both metrics
    assert len(val_lines) == 3 and 'max/accuracy/top1' in lines[val_lines[2]]
    assert named[0] < val_lines[0] < named[1] < val_lines[1]
    warnings = [line for line in lines if 'WARNING' in line and 'bn_recalibration_batches' in line]
    assert len(warnings) == 1 and f'={asked}' in warnings[0] and f' {given} ' in warnings[0]


def test_runners_built_in_the_same_second_keep_their_own_history(tiny_source, tmp_path,
                                                                  monkeypatch):
    # mmengine names a runner's MessageHub after its config and the second it was built, and
    # hands an existing hub of that name back: a report's short fine-tunes shared one, and a
    # learning curve came back with the previous run's validation in it
    monkeypatch.setattr('mmengine.runner.runner.time.time', lambda: 1.8e9)
    hubs = []
    for k in range(2):
        cfg = Config.fromfile(DEMO_CONFIG)
        cfg.work_dir = str(tmp_path / f'run{k}')
        runner = build_runner(cfg, data_root=str(tiny_source),
                              cfg_options=tiny_overrides(1, record=False))
        runner.train()
        history, _ = runner.message_hub.get_scalar('val/max/accuracy/top1').data
        hubs.append((runner.timestamp, runner.message_hub, len(history)))
    assert hubs[0][0] == hubs[1][0]  # the collision this guards against
    assert hubs[0][1] is not hubs[1][1]
    assert [length for _, _, length in hubs] == [1, 1]
    again = build_runner(cfg)  # the same config object, built into a runner once already
    assert again.timestamp == hubs[1][0] and again.message_hub is not hubs[1][1]
