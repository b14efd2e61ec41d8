"""mmdet-style options of our backbones: out_indices, frozen_stages, norm_eval, init_cfg."""
import pytest
import torch
from mmengine.runner import save_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from supernet import AllocatedMobileNetV2, AllocatedResNet, build_backbone, get_space


def test_out_indices_select_stages():
    model = AllocatedResNet(space='resnet_basic', stage_blocks=(1, 1, 1, 1), out_indices=(1, 3))
    outs = model.eval()(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 128, 8, 8), (1, 512, 2, 2)]
    with pytest.raises(ValueError, match=r'out_indices=\(8,\): allowed values are 0..7'):
        AllocatedMobileNetV2(out_indices=(8,))


@pytest.mark.parametrize('build', [
    lambda **kw: AllocatedResNet(space='resnet_basic', stage_blocks=(1, 2, 1, 1), **kw),
    lambda **kw: AllocatedMobileNetV2(stage_blocks=(1, 1, 1, 1, 1), **kw),
])
def test_frozen_stages_and_norm_eval(build):
    model = build(frozen_stages=1).train()
    frozen = [model.conv1, model.layer1]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert all(not m.training for f in frozen for m in f.modules() if isinstance(m, _BatchNorm))
    assert model.layer2.training

    model = build(norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(bn.training for bn in bns)
    assert model.training


def test_space_arguments_are_not_taken_twice():
    with pytest.raises(TypeError, match=r"\['base_channels'\] are set by the space"):
        AllocatedResNet(stage_blocks=(1, 1, 1, 1), base_channels=32)
    with pytest.raises(ValueError, match='needs a resnet space'):
        AllocatedResNet(space='mobilenet_v2')


def test_subnet_loads_through_init_cfg_pretrained(tmp_path):
    supernet = build_backbone('resnet_basic')
    supernet.set_allocation((1, 2, 3, 1))
    subnet = supernet.get_subnet()
    path = tmp_path / 'subnet.pth'
    save_checkpoint({'state_dict': subnet.state_dict()}, str(path))
    fresh = build_backbone('resnet_basic', (1, 2, 3, 1),
                           init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    assert not torch.equal(fresh.layer3[2].conv1.weight, subnet.layer3[2].conv1.weight)
    fresh.init_weights()
    for key, value in subnet.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_small_input_stem_keeps_resolution():
    space = get_space('resnet_bottleneck').scaled(0.25, name='tiny', small_input=True)
    model = AllocatedResNet(space=space, stage_blocks=(1, 1, 1, 1)).eval()
    outs = model(torch.randn(1, 3, 28, 28))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 28, 28), (1, 128, 14, 14),
                                              (1, 256, 7, 7), (1, 512, 4, 4)]
    assert model.conv1.kernel_size == (3, 3) and isinstance(model.maxpool, torch.nn.Identity)


@pytest.mark.parametrize('space', ['mobilenet_v2', 'mnasnet'])
def test_layers_past_the_last_output_are_not_built_and_their_weights_load_non_strictly(
        space, tmp_path):
    """A detector's MobileNet (outputs up to layer7) has no conv2: under DDP every parameter
    must get a gradient. An ImageNet checkpoint, which holds conv2, still loads into it."""
    torch.manual_seed(0)
    full = build_backbone(space, (2, 2, 2, 3, 5), out_indices=(7,))
    path = tmp_path / 'full.pth'
    save_checkpoint({'state_dict': full.state_dict()}, str(path))
    fpn = build_backbone(space, (2, 2, 2, 3, 5), out_indices=(1, 2, 4, 6),
                         init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    assert not hasattr(fpn, 'conv2') and fpn.layer_names[-1] == 'layer7'
    assert {k.split('.')[0] for k in set(full.state_dict()) - set(fpn.state_dict())} == {'conv2'}
    fpn.init_weights()
    assert all(torch.equal(full.state_dict()[k], v) for k, v in fpn.state_dict().items())
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        full_layer7 = full.eval().forward_layers(full.forward_stem(images), stop=7)[0]
        torch.testing.assert_close(fpn.eval()(images)[-1], full_layer7)

    # the super-network and its subnets alike: nothing past layer6 when it is the last output
    supernet = build_backbone(space, out_indices=(5,), frozen_stages=7)
    assert supernet.layer_names[-1] == 'layer6' and not hasattr(supernet, 'layer7')
    assert supernet.get_subnet((1, 2, 3, 4, 5)).layer_names == supernet.layer_names
    with pytest.raises(ValueError, match=r'out_indices=\(1, 2, 4\): the highest index must be '
                                         r'at least 5 \(layer6, the last searched stage\)'):
        build_backbone(space, out_indices=(1, 2, 4))
