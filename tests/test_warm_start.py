"""Warm start: a super-network initialised from torchvision networks (random weights written to
disk, as no download works here) computes the source's features exactly; what does not fit is
refused in one line."""
import re

import pytest
import torch
import torchvision

from conftest import randomize_batchnorm
from initialize import init_from

# torchvision ResNet, its depths, and a deeper allocation the identity blocks must not change
RESNETS = [
    ('resnet50', (3, 4, 6, 3), (5, 7, 10, 6)),
    ('resnet101', (3, 4, 23, 3), (4, 6, 30, 8)),
    pytest.param('resnet152', (3, 8, 36, 3), (8, 10, 36, 14), marks=pytest.mark.slow),
]


def saved(model, tmp_path, name):
    """``model`` with non-trivial BatchNorms, its state dict written to ``tmp_path/name.pth``."""
    torch.manual_seed(0)
    randomize_batchnorm(model).eval()
    path = tmp_path / f'{name}.pth'
    torch.save(model.state_dict(), path)
    return model, str(path)


def resnet_features(model, images):
    """torchvision's ResNet up to each stage (what our backbone returns for out_indices 0..3)."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(images))))
    outs = []
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = stage(x)
        outs.append(x)
    return outs


def assert_features(supernet, allocation, expected, images):
    supernet.set_allocation(allocation)
    with torch.no_grad():
        got = supernet.eval()(images)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name, depths, deeper', RESNETS)
def test_resnet_subnet_computes_the_source(tmp_path, images, name, depths, deeper):
    source, path = saved(torchvision.models.get_model(name), tmp_path, name)
    with torch.no_grad():
        expected = resnet_features(source, images)
    warm = init_from('resnet_bottleneck', path, fill='identity')
    assert_features(warm.model, depths, expected, images)
    assert_features(warm.model, deeper, expected, images)  # identity blocks pass through
    manifest = warm.manifest()
    assert manifest['source_allocations'] == {path: '-'.join(map(str, depths))}
    record = warm.records['layer1.0.downsample.1.running_var']
    assert (record.rule, record.source) == ('copy', f'{path}:layer1.0.downsample.1.running_var')
    new_block = f'layer3.{depths[2]}.' if depths[2] < 36 else f'layer4.{depths[3]}.'
    assert warm.records[new_block + 'bn3.weight'].op == 'zero'
    assert warm.records[new_block + 'conv1.weight'].rule == 'identity'
    # the classifier travels as mmpretrain's LinearClsHead weights
    assert torch.equal(warm.head['head.fc.weight'][0], source.fc.weight)


def test_repeat_copies_the_stages_last_source_block(tmp_path, images):
    source, path = saved(torchvision.models.resnet50(), tmp_path, 'r50')
    warm = init_from('resnet_bottleneck', [path], fill='repeat')
    state = warm.model.state_dict()
    for key, value in state.items():
        if key.startswith('layer3.7.'):
            assert torch.equal(value, state['layer3.5.' + key[len('layer3.7.'):]]), key
    assert warm.records['layer3.7.conv2.weight'].source == f'{path}:layer3.5.conv2.weight'
    with torch.no_grad():
        expected = resnet_features(source, images)
    assert_features(warm.model, (3, 4, 6, 3), expected, images)


def test_earlier_sources_win_and_later_ones_fill_past_them(tmp_path):
    _, r50 = saved(torchvision.models.resnet50(), tmp_path, 'r50')
    torch.manual_seed(1)
    _, r101 = saved(torchvision.models.resnet101(), tmp_path, 'r101')
    warm = init_from('resnet_bottleneck', [r50, r101], fill='identity')
    assert warm.records['layer3.5.conv1.weight'].source == f'{r50}:layer3.5.conv1.weight'
    assert warm.records['layer3.6.conv1.weight'].source == f'{r101}:layer3.6.conv1.weight'
    assert warm.records['layer3.23.conv1.weight'].rule == 'identity'


@pytest.mark.parametrize('space, name, standard, deeper', [
    ('mobilenet_v2', 'mobilenet_v2', (2, 3, 4, 3, 3), (5, 6, 8, 7, 7)),
    ('mnasnet', 'mnasnet1_0', (3, 3, 3, 2, 4), (4, 5, 6, 3, 7)),
])
def test_mobile_subnet_computes_the_source(tmp_path, images, space, name, standard, deeper):
    source, path = saved(torchvision.models.get_model(name), tmp_path, name)
    trunk = source.features if name == 'mobilenet_v2' else source.layers
    with torch.no_grad():
        expected = [trunk(images)]  # up to the 1x1 head conv, before pooling
    warm = init_from(space, path, fill='identity')
    warm.model.out_indices = (7,)  # conv2, the head conv
    assert_features(warm.model, standard, expected, images)
    assert_features(warm.model, deeper, expected, images)
    new_block = f'layer4.{standard[2]}.'  # layer4 is the third searched stage
    assert warm.records[new_block + 'linear_conv.bn.bias'].op == 'zero'


@pytest.mark.parametrize('space, source, problem', [
    ('resnet_bottleneck', 'resnet18', 'lacks layer1.0.conv3.weight'),
    ('mnasnet', 'mobilenet_v2', 'has shape'),
    ('mnasnet', 'mnasnet0_5', 'has shape'),  # the space is mnasnet1_0's widths
    ('mobilenet_v2', 'resnet50', 'of another family'),
    ('resnet_bottleneck_demo', 'resnet50', 'conv1.weight (conv1.weight) has shape'),
])
def test_a_source_that_does_not_fit_is_refused_in_one_line(tmp_path, space, source, problem):
    _, path = saved(torchvision.models.get_model(source), tmp_path, source)
    with pytest.raises(ValueError, match='transfer method|shape|lacks') as err:
        init_from(space, path)
    assert problem in str(err.value) and '\n' not in str(err.value)


def test_deeper_or_non_prefix_sources_are_refused(tmp_path):
    too_deep = torchvision.models.resnet.ResNet(torchvision.models.resnet.Bottleneck,
                                                [3, 12, 6, 3])
    with pytest.raises(ValueError, match=r'stage layer2 has 12 blocks; .* at most 10'):
        init_from('resnet_bottleneck', too_deep)
    state = torchvision.models.resnet50().state_dict()
    holes = {k: v for k, v in state.items() if not k.startswith('layer3.2.')}
    with pytest.raises(ValueError, match=r'layer3 has blocks \[0, 1, 3, 4, 5\], not a prefix'):
        init_from('resnet_bottleneck', holes)
    with pytest.raises(ValueError, match="fill='zeros': allowed identity, repeat, dpiat, hmt, tli"):
        init_from('resnet_bottleneck', state, fill='zeros')
    with pytest.raises(ValueError, match="options \\['lam'\\] are for transfer methods"):
        init_from('resnet_bottleneck', state, fill='identity', lam=0.5)


@pytest.mark.parametrize('method', ['dpiat', 'hmt', 'tli'])
def test_a_transfer_method_fills_what_no_source_has(tmp_path, images, method):
    source, path = saved(torchvision.models.resnet18(), tmp_path, 'r18')
    # HMT aligns layer l with layer l by default: past the source's chain nothing is written
    options = dict(align='stretch') if method == 'hmt' else {}
    warm = init_from('resnet_basic', path, fill=method, **options)
    new = [r for r in warm.records.values() if r.target.startswith('layer3.5.')]
    assert {r.rule for r in new} == {method} and all(r.source.startswith(path) for r in new)
    assert warm.records['layer3.1.conv1.weight'].rule == 'copy'
    with torch.no_grad():
        expected = resnet_features(source, images)
    assert_features(warm.model, (2, 2, 2, 2), expected, images)  # the copied blocks win


def test_another_family_only_through_a_named_architecture(tmp_path):
    _, r50 = saved(torchvision.models.resnet50(), tmp_path, 'r50')
    with pytest.raises(ValueError, match='name its architecture'):
        init_from('resnet_basic', r50, fill='dpiat')
    other = init_from('resnet_basic', f'torchvision:resnet50={r50}', fill='dpiat')
    rules = other.manifest()['rules']
    assert set(rules) <= {'dpiat', 'init'} and rules['dpiat'] > 0.9 * sum(rules.values())


def test_bad_source_specs_are_refused_before_reading(tmp_path):
    with pytest.raises(FileNotFoundError, match='no such checkpoint file'):
        init_from('resnet_bottleneck', str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match="torchvision has no model 'resnet51'"):
        init_from('resnet_bottleneck', 'torchvision:resnet51')
    with pytest.raises(FileNotFoundError, match="'torchvison' is none of torchvision, timm"):
        init_from('resnet_bottleneck', 'torchvison:resnet50')


def test_the_tool_writes_a_checkpoint_the_other_tools_take(tmp_path):
    """A subnet of this project as the source (the demo space has no torchvision counterpart);
    the output loads into the demo's super-network classifier as train_supernet.py --load-from
    does, and extract_subnet cuts the source's subnet back out of it."""
    import subprocess
    import sys
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    import engine.registry  # noqa: F401  (what the config's custom_imports does)
    from supernet import build_backbone, extract_subnet
    from supernet.extract import extract_subnet_checkpoint

    root = Path(__file__).resolve().parents[1]
    subnet = randomize_batchnorm(build_backbone('resnet_bottleneck_demo', (2, 3, 4, 2)))
    source = tmp_path / 'subnet.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in subnet.state_dict().items()},
                'meta': dict(space='resnet_bottleneck_demo', allocation=[2, 3, 4, 2])}, source)
    out = tmp_path / 'warm.pth'
    tool = [sys.executable, str(root / 'tools/init_supernet.py'), 'resnet_bottleneck_demo',
            '--from', str(source), '--out', str(out)]
    result = subprocess.run(tool + ['--fill', 'repeat'], capture_output=True, text=True,
                            timeout=600, cwd=root)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r'layer3\s+36\s+4\s+32 by repeat', result.stdout), result.stdout
    assert out.with_suffix('.manifest.json').is_file()

    model = MODELS.build(Config.fromfile(root / 'configs/demo/supernet_resnet_fashion.py').model)
    load_checkpoint(model, str(out), map_location='cpu', strict=False)
    assert torch.equal(model.backbone.layer3[3].conv2.weight, subnet.layer3[3].conv2.weight)
    assert torch.equal(model.backbone.layer3[20].conv2.weight, subnet.layer3[3].conv2.weight)
    # greedy_search.py --checkpoint: the plan's meta check and the pipeline's tensor check
    from engine.pipeline import _check_supernet_tensors
    from search.plan import check_search, set_supernet_checkpoint
    cfg = Config.fromfile(root / 'configs/demo/search_digits.py')
    set_supernet_checkpoint(cfg, str(out))
    cfg.work_dir = str(tmp_path / 'search')
    plan = check_search(cfg)
    _check_supernet_tensors(str(out), plan.checkpoint_shapes, plan.space, 'backbone.')
    extract_subnet_checkpoint(out, (2, 3, 4, 2), tmp_path / 'back.pth')
    back = torch.load(tmp_path / 'back.pth', weights_only=False)['state_dict']
    expected = extract_subnet(torch.load(source)['state_dict'], (2, 3, 4, 2),
                              'resnet_bottleneck_demo', prefix='backbone.')
    assert back.keys() == expected.keys()
    assert all(torch.equal(back[k], v) for k, v in expected.items())

    refused = subprocess.run(tool[:-1] + [str(source)], capture_output=True, text=True,
                             timeout=600, cwd=root)
    assert refused.returncode == 2 and 'is the source file' in refused.stderr
    assert refused.stderr.count('\n') == 1


@pytest.mark.parametrize('space, name, depths', [
    ('resnet_bottleneck', 'resnet50', (3, 4, 6, 3)),
    ('mobilenet_v2', 'mobilenetv2_100', (2, 3, 4, 3, 3)),
    ('mnasnet', 'mnasnet_100', (3, 3, 3, 2, 4)),
])
def test_timm_sources_by_file_and_by_name(tmp_path, images, space, name, depths):
    import timm
    source, path = saved(timm.create_model(name), tmp_path, name)
    with torch.no_grad():
        expected = [source.forward_features(images)]
    for spec in (path, f'timm:{name}={path}'):
        warm = init_from(space, spec)
        warm.model.out_indices = (3,) if space.startswith('resnet') else (7,)
        assert_features(warm.model, depths, expected, images)
    assert warm.manifest()['left_out'] == {}


def test_an_mmpretrain_classifier_checkpoint(tmp_path, images):
    from mmpretrain.models.backbones import MobileNetV2

    backbone = randomize_batchnorm(MobileNetV2(out_indices=(7,)))
    backbone.eval()  # mmpretrain's train() returns None: no chaining
    path = tmp_path / 'mmpretrain.pth'
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state.update({'head.fc.weight': torch.randn(10, 1280), 'head.fc.bias': torch.randn(10)})
    torch.save({'state_dict': state, 'meta': {}}, path)
    warm = init_from('mobilenet_v2', str(path), fill='repeat')
    warm.model.out_indices = (7,)
    with torch.no_grad():
        expected = backbone(images)
    assert_features(warm.model, (2, 3, 4, 3, 3), expected, images)
    assert torch.equal(warm.head['head.fc.bias'][0], state['head.fc.bias'])
    assert warm.records['layer3.3.expand_conv.conv.weight'].source == \
        f'{path}:backbone.layer3.2.conv.0.conv.weight'
