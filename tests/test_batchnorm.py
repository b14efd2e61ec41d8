import torch
from torch import nn

from supernet import build_backbone
from supernet.batchnorm import batchnorms, preserved_bn_stats, recalibrate_bn


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
