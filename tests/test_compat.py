"""Our backbones against mmdet's, mmpretrain's and torchvision's at the standard depths."""
import torch
import torchvision
from mmdet.models.backbones import MobileNetV2 as MMDetMobileNetV2
from mmdet.models.backbones import ResNet as MMDetResNet
from mmpretrain.models.backbones import MobileNetV2 as MMPretrainMobileNetV2

from conftest import randomize_batchnorm
from supernet import (AllocatedMnasNet, AllocatedMobileNetV2, AllocatedResNet, ResNetSuperNet,
                      extract_subnet)
from supernet.convert import convert_mmpretrain_mobilenet_v2, convert_torchvision_mnasnet


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
