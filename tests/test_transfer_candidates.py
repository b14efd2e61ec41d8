"""Initializing networks the super-network cannot express from one of its subnets, and
mmdet backbones (tuple outputs) through the same entry point."""
import dataclasses

import pytest
import timm
import torch
import torchvision
from mmdet.models.backbones import MobileNetV2 as MMDetMobileNetV2
from mmdet.models.backbones import ResNet as MMDetResNet

import transfer
from supernet import AllocatedMobileNetV2, AllocatedResNet, ResNetSuperNet, get_space
from supernet import MnasNetSuperNet
from transfer import transfer_weights
from transfer_nets import outputs, randomize

METHODS = sorted(transfer.METHODS)
BASIC = get_space('resnet_basic')
SPACE = BASIC.scaled(0.25, small_input=True)
IMAGES = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope='module')
def subnet():
    supernet = randomize(ResNetSuperNet(SPACE))
    return supernet.get_subnet((2, 2, 2, 2)).eval()


CANDIDATES = {
    # layer3 holds 8 blocks; the space allows at most 6
    'deeper': lambda: AllocatedResNet(stage_blocks=(2, 2, 8, 2), space=SPACE),
    'wider': lambda: AllocatedResNet((2, 2, 2, 2), space=BASIC.scaled(0.375, small_input=True)),
    'narrower': lambda: AllocatedResNet((1, 2, 2, 1), space=BASIC.scaled(0.125, small_input=True)),
    'timm': lambda: timm.create_model('resnet14t', num_classes=10),
}


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('candidate', sorted(CANDIDATES))
def test_out_of_space_candidates(subnet, method, candidate):
    target = CANDIDATES[candidate]()
    report = transfer_weights(subnet, target, method, min_coverage=0.4)
    if method == 'tli':  # everything but resnet14t's classifier (the subnet has no linear layer)
        assert report.untouched == (['fc.weight', 'fc.bias'] if candidate == 'timm' else [])
    elif method == 'dpiat':  # its DP follows shapes: a half-width target's layer1 (8 channels)
        # is left alone, the source's 16-channel layer1 fitting the target's layer2 exactly;
        # resnet14t's Bottleneck downsample BNs are left alone too (the act3 before them
        # makes the run bn3..downsample a tie, see test_transfer_dpiat_matching)
        assert report.coverage >= {'narrower': 0.85, 'timm': 0.6}.get(candidate, 0.95)
    assert all(r.source is not None for r in report.records if r.status == 'transferred')
    with torch.no_grad():
        assert all(torch.isfinite(o).all() for o in outputs(target.eval()(IMAGES)))


def test_deeper_stage_repeats_source_blocks(subnet):
    target = CANDIDATES['deeper']()
    report = transfer_weights(subnet, target, 'dpiat', strict=True)
    for block in range(2, 8):  # blocks the subnet does not have come from its layer3 blocks
        record = report[f'layer3.{block}.conv2.weight']
        assert record.op == 'copy' and record.source.startswith('layer3.')
        assert torch.equal(target.layer3[block].conv2.weight,
                           subnet.state_dict()[record.source])


def test_other_kernel_size():
    space = get_space('mnasnet').scaled(0.25, small_input=True)
    sevens = space.replace(name='mnasnet_k7', stages=tuple(
        dataclasses.replace(s, kernel_size=7 if s.kernel_size == 5 else s.kernel_size)
        for s in space.stages))
    source = randomize(MnasNetSuperNet(space)).get_subnet((3, 3, 3, 2, 4))
    target = type(source)(stage_blocks=(3, 3, 3, 2, 4), space=sevens)
    report = transfer_weights(source, target, 'hmt', strict=True)  # a plain chain: all of it
    record = report['layer3.0.depthwise_conv.conv.weight']
    assert record.target_shape[2:] == (7, 7) and record.source_shape[2:] == (5, 5)
    assert record.op == 'kernel_interp'
    assert report['layer2.0.depthwise_conv.conv.weight'].op == 'copy'  # 3x3 stays 3x3


@pytest.mark.parametrize('method', METHODS)
def test_mmdet_mobilenet_into_allocated_backbone(method):
    source = randomize(MMDetMobileNetV2(out_indices=(2, 4, 7)))
    target = AllocatedMobileNetV2(out_indices=(2, 4, 7))
    report = transfer_weights(source, target, method, strict=True)
    assert report.ops == {'copy': len(source.state_dict())}
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        source.eval(), target.eval()  # (mmdet's train() returns None, so no chaining)
        for a, b in zip(source(x), target(x)):   # tuples of feature maps
            assert torch.equal(a, b)


@pytest.mark.parametrize('method', ['dpiat', 'tli'])
def test_mmdet_resnet_into_allocated_resnet(method):
    source = randomize(MMDetResNet(depth=18))
    target = AllocatedResNet((2, 2, 2, 2), space='resnet_basic')
    report = transfer_weights(source, target, method, strict=True)
    assert all(r.source == r.target for r in report.records)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        source.eval(), target.eval()
        for a, b in zip(source(x), target(x)):
            assert torch.equal(a, b)


@pytest.mark.parametrize('method', ['dpiat', 'tli'])
def test_torchvision_resnet_into_timm_resnet(method):
    # Same layout and names, different classes: an exact transfer, outputs equal.
    source = randomize(torchvision.models.resnet18(num_classes=10))
    target = timm.create_model('resnet18', num_classes=10)
    report = transfer_weights(source, target, method, strict=True)
    assert report.ops == {'copy': len(source.state_dict())}
    with torch.no_grad():
        assert torch.equal(source.eval()(IMAGES), target.eval()(IMAGES))
