"""Our backbones against mmdet's, mmpretrain's and torchvision's at the standard depths."""
import logging

import pytest
import torch
import torchvision
from mmdet.models.backbones import MobileNetV2 as MMDetMobileNetV2
from mmdet.models.backbones import ResNet as MMDetResNet
from mmpretrain.models.backbones import MobileNetV2 as MMPretrainMobileNetV2

from conftest import randomize_batchnorm
from supernet import (AllocatedMnasNet, AllocatedMobileNetV2, AllocatedResNet, ResNetSuperNet,
                      extract_subnet)
from initialize.convert import convert_mmpretrain_mobilenet_v2, convert_torchvision_mnasnet


def assert_same_outputs(ours, theirs, images):
    for model in (ours, theirs):
        if isinstance(model, torch.nn.Module):
            model.eval()  # mmdet's and mmpretrain's train() return None: no chaining
    with torch.no_grad():
        got, expected = ours(images), theirs(images)
    if isinstance(expected, torch.Tensor):
        expected = (expected,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def assert_same_keys_and_shapes(ours, theirs_state):
    ours_state = ours.state_dict()
    assert list(ours_state) == list(theirs_state)
    assert all(ours_state[k].shape == v.shape for k, v in theirs_state.items())


def test_allocated_resnet50_matches_mmdet_resnet50(images):
    theirs = randomize_batchnorm(MMDetResNet(depth=50, norm_eval=False))
    ours = AllocatedResNet(stage_blocks=(3, 4, 6, 3))
    assert_same_keys_and_shapes(ours, theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert_same_outputs(ours, theirs, images)


def initialised(build, seed: int = 0):
    """``build()`` then mmengine's ``init_weights`` (what a runner does), from ``seed``."""
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # a line per parameter otherwise
    torch.manual_seed(seed)
    model = build()
    model.init_weights()
    return model


@pytest.mark.parametrize('options', [
    dict(), dict(style='caffe'), dict(deep_stem=True, avg_down=True),
    dict(frozen_stages=2, norm_eval=True), dict(with_cp=True, zero_init_residual=False),
    dict(norm_cfg=dict(type='GN', num_groups=8), frozen_stages=0)])
def test_allocated_resnet_is_mmdets_resnet(options, images):
    """Same parameters, initial weights at the same seed (Kaiming, zero last norms), frozen
    parameters, BatchNorm modes and training outputs, for each of mmdet's options."""
    options = {'norm_eval': False, **options}
    theirs = initialised(lambda: MMDetResNet(depth=50, **options))
    ours = initialised(lambda: AllocatedResNet(stage_blocks=(3, 4, 6, 3), **options))
    expected = theirs.state_dict()
    assert_same_keys_and_shapes(ours, expected)
    for key, value in ours.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert [(n, p.requires_grad) for n, p in ours.named_parameters()] == \
        [(n, p.requires_grad) for n, p in theirs.named_parameters()]
    ours.train(), theirs.train()
    assert [m.training for m in ours.modules()] == [m.training for m in theirs.modules()]
    images = images.clone().requires_grad_(options.get('with_cp', False))
    for got, wanted in zip(ours(images), theirs(images), strict=True):
        torch.testing.assert_close(got, wanted)


def test_allocated_mobilenet_v2_starts_as_mmdets():
    theirs = initialised(lambda: MMDetMobileNetV2(out_indices=(1, 2, 4, 6, 7)))
    ours = initialised(lambda: AllocatedMobileNetV2(out_indices=(1, 2, 4, 6, 7)))
    expected = theirs.state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_torchvision_resnet50_loads_into_the_supernet_prefix(images):
    resnet50 = randomize_batchnorm(torchvision.models.resnet50())
    backbone_state = {k: v for k, v in resnet50.state_dict().items() if not k.startswith('fc.')}
    supernet = ResNetSuperNet()
    missing, unexpected = supernet.load_state_dict(backbone_state, strict=False)
    assert unexpected == []
    # Only blocks past ResNet-50's depths stay uninitialised.
    depths = dict(layer1=3, layer2=4, layer3=6, layer4=3)
    assert missing and all(int(k.split('.')[1]) >= depths[k.split('.')[0]] for k in missing)
    assert extract_subnet(supernet.state_dict(), (3, 4, 6, 3)).keys() == backbone_state.keys()
    supernet.set_allocation((3, 4, 6, 3))
    trunk = torch.nn.Sequential(*list(resnet50.children())[:-2])  # up to layer4
    with torch.no_grad():
        torch.testing.assert_close(supernet.eval()(images)[-1], trunk.eval()(images),
                                   rtol=1e-5, atol=1e-5)


def test_allocated_mobilenet_v2_matches_mmdet(images):
    theirs = randomize_batchnorm(MMDetMobileNetV2(out_indices=(1, 2, 4, 6, 7)))
    ours = AllocatedMobileNetV2(stage_blocks=(2, 3, 4, 3, 3), out_indices=(1, 2, 4, 6, 7))
    assert_same_keys_and_shapes(ours, theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert_same_outputs(ours, theirs, images)
    assert AllocatedMobileNetV2().stage_blocks == (2, 3, 4, 3, 3)  # the default is the standard net


def test_allocated_mobilenet_v2_matches_mmpretrain_after_key_conversion(images):
    theirs = randomize_batchnorm(MMPretrainMobileNetV2(out_indices=(1, 2, 4, 7)))
    converted, unknown = convert_mmpretrain_mobilenet_v2(theirs.state_dict())
    assert not unknown
    ours = AllocatedMobileNetV2()
    assert_same_keys_and_shapes(ours, converted)
    ours.load_state_dict(converted, strict=True)
    assert_same_outputs(ours, theirs, images)


def test_allocated_mnasnet_matches_torchvision_mnasnet1_0(images):
    theirs = randomize_batchnorm(torchvision.models.mnasnet1_0())
    converted, unknown = convert_torchvision_mnasnet(theirs.state_dict())
    assert sorted(unknown) == ['classifier.1.bias', 'classifier.1.weight']
    ours = AllocatedMnasNet(out_indices=(7,))
    assert_same_keys_and_shapes(ours, converted)
    ours.load_state_dict(converted, strict=True)
    assert_same_outputs(ours, theirs.layers, images)  # torchvision's trunk, before pooling
