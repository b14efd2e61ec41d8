"""The bottom layer: the one BatchNorm recalibration, and checkpoint files."""
import os

import pytest
import torch
from torch import nn

import transfer
from common.batchnorm import batchnorms, preserved_bn_stats, recalibrate_bn
from common.checkpoint import (
    CheckpointError,
    UnsafeCheckpointError,
    atomic_save,
    atomic_write_text,
    load_checkpoint_safely,
    read_state_dict,
)
from supernet import build_backbone


def test_recalibration_estimates_the_reached_batchnorms_exactly():
    torch.manual_seed(0)
    model = build_backbone('resnet_basic', out_indices=(3,))
    model.set_allocation((1, 1, 1, 1))
    model.eval()
    dropout = nn.Dropout()  # in train mode, unlike the rest: its mode must come back as it was
    model.add_module('extra', dropout)
    unreached = model.layer3[2].bn1
    before = unreached.running_mean.clone()
    momentum = model.bn1.momentum
    batches = [torch.randn(4, 3, 32, 32) * 3 + 1 for _ in range(3)]

    assert recalibrate_bn(model, batches) == 3

    # The stem BN holds the plain average of the per-batch statistics (momentum=None).
    with torch.no_grad():
        stems = [model.conv1(b) for b in batches]
    mean = torch.stack([s.mean((0, 2, 3)) for s in stems]).mean(0)
    var = torch.stack([s.var((0, 2, 3)) for s in stems]).mean(0)  # unbiased, as BatchNorm
    torch.testing.assert_close(model.bn1.running_mean, mean)
    torch.testing.assert_close(model.bn1.running_var, var, rtol=1e-4, atol=1e-5)
    assert torch.equal(unreached.running_mean, before)  # blocks past the depth keep theirs
    assert not model.training and dropout.training
    assert not any(bn.training for bn in batchnorms(model))
    assert model.bn1.momentum == momentum


def test_preserved_bn_stats_undoes_recalibration():
    model = build_backbone('resnet_basic').train()
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    with preserved_bn_stats(model):
        recalibrate_bn(model, [torch.randn(2, 3, 32, 32)])
        assert not torch.equal(model.bn1.running_mean, saved['bn1.running_mean'])
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert model.training


def test_recalibration_re_estimates_a_norm_eval_backbone():
    # mmdet's norm_eval=True keeps BatchNorms in eval mode after model.train(). torch's update_bn
    # (what transfer.recalibrate_bn wrapped before) resets every BatchNorm, then runs the model in
    # train() mode: these never update, and their statistics stay at the reset values (0 and 1).
    torch.manual_seed(0)
    model = build_backbone('resnet_basic', (1, 1, 1, 1), norm_eval=True).train()
    batches = [torch.randn(4, 3, 32, 32) * 3 + 1 for _ in range(2)]
    with torch.no_grad():
        stem = torch.cat([model.conv1(b) for b in batches])
    buggy = build_backbone('resnet_basic', (1, 1, 1, 1), norm_eval=True).train()
    torch.optim.swa_utils.update_bn(batches, buggy)
    assert torch.equal(buggy.bn1.running_mean, torch.zeros_like(buggy.bn1.running_mean))

    assert transfer.recalibrate_bn is recalibrate_bn  # one implementation for every layer
    assert transfer.recalibrate_bn(model, batches) == 2
    torch.testing.assert_close(model.bn1.running_mean, stem.mean((0, 2, 3)))
    assert model.training and not model.bn1.training  # norm_eval still holds afterwards


def test_atomic_writes_give_the_usual_file_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        for path in (atomic_save({'w': torch.ones(1)}, tmp_path / 'a.pth'),
                     atomic_write_text(tmp_path / 'a.json', '{}')):
            assert os.stat(path).st_mode & 0o777 == 0o644, path
    finally:
        os.umask(umask)


def test_bad_checkpoints_are_named_in_one_line(tmp_path):
    cases = {'empty.pth': b'', 'text.pth': b'hello, I am not a checkpoint\n',
             'random.pth': os.urandom(4096)}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(CheckpointError, match=r'empty.pth: the file is empty'):
        load_checkpoint_safely(tmp_path / 'empty.pth')
    for name in ('text.pth', 'random.pth'):
        with pytest.raises(CheckpointError, match=rf'{name}: not a checkpoint') as error:
            load_checkpoint_safely(tmp_path / name)
        assert '\n' not in str(error.value) and 'weights_only=False' not in str(error.value)
    whole = atomic_save({'state_dict': {'w': torch.ones(1000)}}, tmp_path / 'whole.pth')
    (tmp_path / 'cut.pth').write_bytes(whole.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match=r'cut.pth: truncated or corrupted'):
        load_checkpoint_safely(tmp_path / 'cut.pth')
    with pytest.raises(FileNotFoundError, match=r'missing.pth: no such checkpoint file'):
        load_checkpoint_safely(tmp_path / 'missing.pth')
    assert issubclass(UnsafeCheckpointError, CheckpointError)


def test_read_state_dict_takes_the_projects_training_checkpoints(tmp_path):
    # mmengine training checkpoints hold numpy scalars in their meta: allow-listed
    import numpy as np
    state = {'conv.weight': torch.randn(2, 3)}
    atomic_save({'state_dict': {f'module.{k}': v for k, v in state.items()},
                 'meta': {'seed': np.int64(3), 'lr': np.float64(0.1)}}, tmp_path / 'train.pth')
    torch.testing.assert_close(read_state_dict(tmp_path / 'train.pth'), state)
