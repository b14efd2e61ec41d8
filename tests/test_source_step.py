"""Paper 004, Sec. 3.4: the searched subnet, with the weights it inherits, fine-tuned on the source
before the target, as the report runs it (``ReportContext.source_model``) and as a user runs it
step by step with the tools; the configs of that step; the iteration schedule it is stretched
with."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import randomize_batchnorm
from mmengine.config import Config
from mmengine.hooks import Hook
from mmpretrain.registry import MODELS

import engine.registry  # noqa: F401  (the configs' backbones)
import engine.training
from archdata import (
    FASHION_MNIST_CLASSES,
    SPLIT_SOURCE_CLASSES,
    prepare_split_source,
    prepare_tops_target,
)
from common.checkpoint import atomic_save, load_checkpoint_safely
from engine.launch import set_iterations
from reproduce import REDUCED
from reproduce.context import ReportContext

ROOT = Path(__file__).resolve().parents[1]


class FirstStepSnapshot(Hook):
    """The model's state dict just before the first training step."""

    def __init__(self):
        self.state = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.state is None:
            self.state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def recording(monkeypatch, name: str) -> list:
    """Snapshots of every runner ``engine.training.<name>`` builds, in order."""
    original, snapshots = getattr(engine.training, name), []

    def build(*args, **kwargs):
        runner = original(*args, **kwargs)
        snapshots.append(FirstStepSnapshot())
        runner.register_hook(snapshots[-1])
        return runner

    monkeypatch.setattr(engine.training, name, build)
    return snapshots


@pytest.fixture
def context(tmp_path):
    """A reduced report context on a seeded, untrained class-split super-network (BatchNorm
    statistics randomized, so that a skipped or re-initialized one shows)."""
    cfg = Config.fromfile(ROOT / 'configs/demo/supernet_resnet_fashion_split.py')
    torch.manual_seed(0)
    model = randomize_batchnorm(MODELS.build(cfg.model))
    classes = [FASHION_MNIST_CLASSES[c] for c in SPLIT_SOURCE_CLASSES]
    atomic_save({'state_dict': model.state_dict(), 'meta': {
        'space': 'resnet_bottleneck_demo', 'dataset_meta': {'classes': classes}}},
        tmp_path / 'supernet.pth')
    ctx = ReportContext(REDUCED.replace(seeds=1, source_finetune_iters=3), seed=0,
                        work_dir=tmp_path / 'work', data_root=tmp_path / 'data',
                        supernet=tmp_path / 'supernet.pth', config_dir=ROOT / 'configs')
    ctx.prepare_data()
    return ctx, model.state_dict()


def test_source_fine_tune_starts_from_exactly_the_inherited_weights(context, monkeypatch):
    ctx, supernet = context
    source_runs = recording(monkeypatch, 'subnet_runner')
    target_runs = recording(monkeypatch, 'finetune_runner')
    allocation = (1, 2, 2, 1)
    top1 = ctx.finetuned_top1(allocation, init='source')  # source fine-tune, then the target
    assert 0 <= top1 <= 100
    [source], [target] = source_runs, target_runs

    inherited = load_checkpoint_safely(ctx.inherited_subnet(allocation))['state_dict']
    assert source.state.keys() == inherited.keys()
    assert all(torch.equal(source.state[k], v) for k, v in inherited.items())
    # the inherited weights are the super-network's own tensors, BatchNorm statistics included
    assert all(torch.equal(v, supernet[k]) for k, v in inherited.items())
    assert any('running_var' in k for k in inherited) and 'head.fc.weight' in inherited

    # the step trained: its checkpoint moved away from the inherited weights
    model = ctx.source_model(allocation, 'finetuned')
    assert Path(model['checkpoint']).is_file() and 0 <= model['top1'] <= 100
    finetuned = load_checkpoint_safely(model['checkpoint'])['state_dict']
    assert finetuned.keys() == inherited.keys()
    assert not all(torch.equal(finetuned[k], v) for k, v in inherited.items())
    # and the target fine-tune starts its backbone exactly from that checkpoint's
    backbone = {k: v for k, v in target.state.items() if k.startswith('backbone.')}
    assert backbone and all(torch.equal(v, finetuned[k]) for k, v in backbone.items())

    # asked again (another seed's headline, a resumed run): nothing is trained again
    assert ctx.source_model(allocation, 'finetuned') == model
    assert len(source_runs) == 1


def test_subnet_trained_alone_starts_from_random_init(context, monkeypatch):
    ctx, supernet = context
    runs = recording(monkeypatch, 'subnet_runner')
    model = ctx.source_model((1, 2, 2, 1), 'alone')
    [run] = runs
    inherited = load_checkpoint_safely(ctx.inherited_subnet((1, 2, 2, 1)))['state_dict']
    weights = [k for k, v in inherited.items() if k.endswith('conv1.weight')]
    assert weights and not any(torch.equal(run.state[k], inherited[k]) for k in weights)
    assert load_checkpoint_safely(model['checkpoint'])['meta']['iter'] == REDUCED.supernet_iters


def test_warm_started_supernet_starts_from_the_default_trained_alone(tmp_path, monkeypatch):
    """settings.warm_start: the report's super-network starts from start (iii) copied in (its
    blocks, statistics and head exactly; the blocks it lacks computing the identity), then
    trains."""
    import reproduce.context
    from supernet import extract_subnet
    snapshots, original = [], reproduce.context.build_runner

    def build(cfg, *args, **kwargs):
        runner = original(cfg, *args, **kwargs)
        snapshots.append(FirstStepSnapshot())
        runner.register_hook(snapshots[-1])
        return runner

    monkeypatch.setattr(reproduce.context, 'build_runner', build)
    ctx = ReportContext(REDUCED.replace(seeds=1, warm_start=True), seed=0,
                        work_dir=tmp_path / 'work', data_root=tmp_path / 'data',
                        config_dir=ROOT / 'configs')
    ctx.prepare_data()
    checkpoint = ctx.supernet
    assert ctx.supernet_info['warm_start'] is True and Path(checkpoint).is_file()
    [start] = snapshots
    default = (1, 2, 2, 1)  # REDUCED's C = 6 in ResNet-50's proportions
    alone = load_checkpoint_safely(ctx.source_model(default, 'alone')['checkpoint'])['state_dict']
    cut = extract_subnet(start.state, default, 'resnet_bottleneck_demo', 'backbone.')
    copied = {k: v for k, v in cut.items() if k.startswith('backbone.')}
    backbone = {k: v for k, v in alone.items() if k.startswith('backbone.')}
    assert copied.keys() == backbone.keys()
    assert all(torch.equal(copied[k], v) for k, v in backbone.items())
    assert torch.equal(start.state['head.fc.weight'], alone['head.fc.weight'])
    # a block past the default's depth: its residual branch's last BatchNorm starts at zero
    assert torch.equal(start.state['backbone.layer1.1.bn3.weight'],
                       torch.zeros_like(start.state['backbone.layer1.1.bn3.weight']))
    trained = load_checkpoint_safely(checkpoint)['state_dict']
    assert not torch.equal(trained['backbone.conv1.weight'], start.state['backbone.conv1.weight'])


def test_set_iterations_stretches_the_schedule():
    cfg = Config.fromfile(ROOT / 'configs/demo/supernet_resnet_fashion_split.py')
    set_iterations(cfg, 60)  # the config's 50-iteration warm-up of 600 becomes 5 of 60
    assert [(p.begin, p.end) for p in cfg.param_scheduler] == [(0, 5), (5, 60)]
    assert cfg.train_cfg == dict(by_epoch=False, max_iters=60, val_interval=60)
    assert cfg.default_hooks.checkpoint.interval == 60
    set_iterations(cfg, 6)  # a phase never vanishes
    assert [(p.begin, p.end) for p in cfg.param_scheduler] == [(0, 1), (1, 6)]
    epochs = Config.fromfile(ROOT / 'configs/demo/finetune_subnet_tops.py')
    with pytest.raises(ValueError, match='needs an iteration-based config'):
        set_iterations(epochs, 10)


@pytest.mark.parametrize('name, classes', [('demo/finetune_subnet_fashion.py', 10),
                                           ('demo/finetune_subnet_fashion_split.py', 5),
                                           ('demo/train_subnet_fashion_split.py', 5),
                                           ('classification/imagenet_transfer_r50.py', 1000)])
def test_source_side_configs_build_a_subnet_classifier(name, classes):
    cfg = Config.fromfile(ROOT / 'configs' / name)
    assert cfg.model.backbone.init_cfg is None  # load_from sets every weight, or none
    assert (cfg.load_from is None) == name.startswith('demo/train_subnet')
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'AllocatedResNet'
    assert model.head.num_classes == classes
    if name.startswith('classification'):
        assert cfg.model.backbone.stage_blocks == (1, 6, 6, 3)  # Transfer-ResNet50 for CUB
        assert cfg.train_cfg.max_epochs == 10 and cfg.auto_scale_lr.base_batch_size == 2048
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.08)  # the super-network's / 10


def test_headline_runs_follow_the_source_step_setting():
    from reproduce.context import default_allocation
    from reproduce.headline import runs_of
    from supernet.spaces import get_space
    space = get_space('resnet_bottleneck_demo')
    assert default_allocation(space, 16) == (3, 4, 6, 3)  # ResNet-50's itself
    for budget in (5, 6, 12, 20):  # its proportions elsewhere, every stage kept
        depths = default_allocation(space, budget)
        assert sum(depths) == budget and min(depths) >= 1
    assert default_allocation(space, 6) == (1, 2, 2, 1)
    search = dict(seeds=[dict(seed=s, picks=[dict(method='greedy', allocation=[1, 1, 3, 1]),
                                             dict(method='exhaustive', allocation=[3, 1, 1, 1])])
                         for s in (0, 1)])
    with_step = runs_of(search, (1, 2, 2, 1), source_step=True)
    assert len(with_step) == 2 * 7  # per seed: 3 subnets x (i), (ii); the default's (iii)
    assert {(role, start) for _, role, _, start in with_step if start == 'alone'} == {
        ('default', 'alone')}
    without = runs_of(search, (1, 2, 2, 1), source_step=False)
    assert len(without) == 2 * 4 and all(start != 'source' for *_, start in without)


def test_each_step_runs_alone_with_the_tools(tmp_path):
    """The documented commands (docs/search.md), on the class split: cut the subnet, fine-tune it
    on the source with tools/train.py --load-from, fine-tune its backbone on the target from
    the result."""
    source = prepare_split_source(tmp_path / 'source_data', 4, 1)
    target = prepare_tops_target(tmp_path / 'tops', 4, 1, 1, 2)
    cfg = Config.fromfile(ROOT / 'configs/demo/supernet_resnet_fashion_split.py')
    torch.manual_seed(0)
    atomic_save({'state_dict': MODELS.build(cfg.model).state_dict(),
                 'meta': {'space': 'resnet_bottleneck_demo'}}, tmp_path / 'supernet.pth')
    small = ['model.backbone.stage_blocks=(1,2,2,1)', 'train_dataloader.batch_size=8'] + [
        f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader')
        for key in ('num_workers=0', 'persistent_workers=False')]

    def tool(*args):
        result = subprocess.run([sys.executable, *map(str, args)], capture_output=True,
                                text=True, timeout=600, cwd=ROOT,
                                env={**os.environ, 'OMP_NUM_THREADS': '1',
                                     'PYTHONPATH': str(ROOT)})
        assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
        return result.stdout + result.stderr

    tool(ROOT / 'tools/extract_subnet.py', tmp_path / 'supernet.pth', '--allocation', '1,2,2,1',
         '--out', tmp_path / 'subnet.pth')
    tool(ROOT / 'tools/train.py', ROOT / 'configs/demo/finetune_subnet_fashion_split.py',
         '--work-dir', tmp_path / 'on_source', '--data-root', source,
         '--load-from', tmp_path / 'subnet.pth', '--cfg-options', 'train_cfg.max_iters=2', *small)
    on_source = tmp_path / 'on_source' / 'iter_2.pth'
    log = tool(ROOT / 'tools/train.py', ROOT / 'configs/demo/finetune_subnet_tops.py',
               '--work-dir', tmp_path / 'on_target', '--data-root', target, '--test',
               '--cfg-options', f'model.backbone.init_cfg.checkpoint={on_source}',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', *small)
    assert f'from path: {on_source}' in log  # the backbone started from the source step
    assert (tmp_path / 'on_target' / 'epoch_1.pth').is_file() and 'accuracy/top1' in log
