"""Speed switches: --amp on the training and search tools reaches mmengine's AmpOptimWrapper,
bfloat16 is refused for detection in one line, and the ImageNet / CUB / COCO configs pin memory,
keep their workers and (classification only) let cuDNN pick its fastest algorithms."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import one_line_error
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper

import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_module
from common.checkpoint import atomic_save
from supernet import build_backbone
from engine.launch import runner_from_args, training_parser

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER = ROOT / 'configs/demo/finetune_subnet_digits.py'
DETECTOR = ROOT / 'configs/demo/faster_rcnn_subnet_glyphs.py'


def built_optim_wrapper(runner, monkeypatch):
    """The optimizer wrapper ``runner.train()`` would build. mmengine refuses to construct an
    AmpOptimWrapper without an accelerator: on CPU it must say so, then (its device check
    passed) it is built as it would be on a GPU."""
    if not torch.cuda.is_available():
        with pytest.raises(AssertionError, match='only available training on gpu'):
            runner.build_optim_wrapper(runner.optim_wrapper)
        monkeypatch.setattr(amp_module, 'is_cuda_available', lambda: True)
    return runner.build_optim_wrapper(runner.optim_wrapper)


@pytest.mark.parametrize('flags, dtype', [(['--amp'], torch.float16),
                                          (['--amp', 'bf16'], torch.bfloat16)])
def test_training_tools_amp_builds_an_amp_optim_wrapper(flags, dtype, tmp_path, monkeypatch):
    args = training_parser('t').parse_args([str(CLASSIFIER), '--work-dir', str(tmp_path), *flags,
                                            '--cfg-options', 'model.backbone.init_cfg=None'])
    runner = runner_from_args(args)
    assert runner.optim_wrapper['type'] == 'AmpOptimWrapper'
    wrapper = built_optim_wrapper(runner, monkeypatch)
    assert isinstance(wrapper, AmpOptimWrapper) and wrapper.cast_dtype == dtype
    plain = runner_from_args(training_parser('t').parse_args(
        [str(CLASSIFIER), '--work-dir', str(tmp_path / 'plain'),
         '--cfg-options', 'model.backbone.init_cfg=None']))
    assert type(plain.build_optim_wrapper(plain.optim_wrapper)) is OptimWrapper


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FineTuneStarts(Exception):
    """Raised where the search's fine-tuning would start training."""


def test_greedy_search_amp_reaches_the_finetune_runner(tmp_path, monkeypatch):
    import engine.pipeline
    checkpoint = tmp_path / 'supernet.pth'
    state = {f'backbone.{k}': v
             for k, v in build_backbone('resnet_bottleneck_demo').state_dict().items()}
    atomic_save({'state_dict': state, 'meta': {'space': 'resnet_bottleneck_demo'}}, checkpoint)
    runners = []

    def build_and_stop(cfg, **kwargs):
        runners.append(build_runner(cfg, **kwargs))
        raise FineTuneStarts

    build_runner = engine.pipeline.build_runner
    monkeypatch.setattr(engine.pipeline, 'build_runner', build_and_stop)
    tool = load_tool('greedy_search')
    with pytest.raises(FineTuneStarts):
        tool.main([str(ROOT / 'configs/demo/search_digits.py'), '--checkpoint', str(checkpoint),
                   '--work-dir', str(tmp_path / 'work'), '--amp'])
    wrapper = built_optim_wrapper(runners[0], monkeypatch)
    assert isinstance(wrapper, AmpOptimWrapper) and wrapper.cast_dtype == torch.float16
    # both tools offer the same precisions
    choices = {a.dest: a.choices for a in tool.parse_args(['c'])[0]._actions}
    training = {a.dest: a.choices for a in training_parser('t')._actions}
    assert list(choices['amp']) == list(training['amp']) == ['bf16', 'fp16']




@pytest.mark.parametrize('flags', [
    ['--amp', 'bf16'],
    ['--cfg-options', 'optim_wrapper.type=AmpOptimWrapper', 'optim_wrapper.dtype=bfloat16']])
def test_bfloat16_is_refused_for_detection_in_one_line(flags, tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools/train.py'), str(DETECTOR), '--work-dir',
         str(tmp_path), *flags], capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, 'PYTHONPATH': str(ROOT)})
    one_line_error(result, "optim_wrapper.dtype='bfloat16' (--amp bf16): refused for detection",
                   "RoIAlign has no bfloat16 kernel; allowed: float16 (--amp)")
    assert not list(tmp_path.iterdir())  # refused before the runner made its work dir


def test_greedy_search_refuses_bfloat16_for_detection_before_fine_tuning(tmp_path):
    checkpoint = tmp_path / 'supernet.pth'
    state = {f'backbone.{k}': v
             for k, v in build_backbone('resnet_bottleneck_demo').state_dict().items()}
    atomic_save({'state_dict': state, 'meta': {'space': 'resnet_bottleneck_demo'}}, checkpoint)
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools/greedy_search.py'),
         str(ROOT / 'configs/demo/supernet_faster_rcnn_glyphs.py'), '--checkpoint',
         str(checkpoint), '--work-dir', str(tmp_path / 'work'), '--amp', 'bf16'],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, 'PYTHONPATH': str(ROOT)})
    one_line_error(result, 'refused for detection')
    assert not (tmp_path / 'work' / 'finetuned.pth').exists()


LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
CLASSIFICATION = ['configs/supernet/resnet_bottleneck_imagenet.py',
                  'configs/supernet/mobilenet_v2_imagenet.py',
                  'configs/classification/cub2011_transfer_r50.py',
                  'configs/classification/cub2010_transfer_r50.py']
DETECTION = sorted(p.relative_to(ROOT).as_posix()
                   for p in (ROOT / 'configs/detection').glob('*.py'))


@pytest.mark.parametrize('config', CLASSIFICATION + DETECTION)
def test_real_data_loaders_pin_memory_and_keep_their_workers(config):
    cfg = Config.fromfile(ROOT / config)
    loaders = [cfg[name] for name in LOADERS if cfg.get(name)]
    assert len(loaders) == 3
    for loader in loaders:
        assert loader.num_workers > 0
        assert loader.get('pin_memory') is True and loader.get('persistent_workers') is True
    # fixed-size classification inputs: cuDNN may time its algorithms once; detection's vary
    assert cfg.env_cfg.cudnn_benchmark is (config in CLASSIFICATION)


def test_zero_workers_drop_persistent_workers(tmp_path):
    """Debugging with --cfg-options ...num_workers=0 still builds the loaders (torch refuses
    persistent workers without workers)."""
    args = training_parser('t').parse_args([
        str(ROOT / 'configs/classification/cub2011_transfer_r50.py'), '--work-dir',
        str(tmp_path), '--cfg-options', 'model.backbone.init_cfg=None',
        'train_dataloader.num_workers=0'])
    runner = runner_from_args(args)
    assert runner.cfg.train_dataloader.persistent_workers is False
    assert runner.cfg.val_dataloader.persistent_workers is True
