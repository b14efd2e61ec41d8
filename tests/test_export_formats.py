"""Exporting a subnet (supernet.formats, tools/export_subnet.py): torchvision / timm state dicts
that load strictly and compute the same function, ONNX in onnxruntime, TorchScript in a process
without archtransfer, the config snippet, and one-line refusals."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT, load_script
from torch import nn

from supernet import build_backbone, extract_subnet
from supernet.formats import (
    ONNX_OPSET,
    ExportRefused,
    check_format,
    config_snippet,
    export_subnet,
    load_subnet,
    subnet_from_state_dict,
)

SPACE, ALLOCATION, CLASSES, SIZE = 'resnet_bottleneck', (1, 2, 1, 2), 10, 64
SUPER_DEPTHS = (2, 3, 2, 2)  # a stand-in super-network: every block of ALLOCATION and more


def randomized(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every BatchNorm off its initial values (mmdet zero-initialises the last norm of a block,
    which would hide a misplaced residual branch) and convolutions redrawn."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            elif isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen)
                                    * (2 / fan_in) ** 0.5)
    return model.eval()


@pytest.fixture(scope='module')
def supernet_ckpt(tmp_path_factory):
    """A classifier checkpoint of a small 'super-network' (a (2, 3, 2, 2) stand-in: it holds
    every block of ALLOCATION and more) with a linear head, as tools/train_supernet.py writes."""
    backbone = randomized(build_backbone(SPACE, SUPER_DEPTHS))
    gen = torch.Generator().manual_seed(1)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['head.fc.weight'] = torch.randn(CLASSES, 2048, generator=gen) * 0.05
    state['head.fc.bias'] = torch.randn(CLASSES, generator=gen)
    path = tmp_path_factory.mktemp('supernet') / 'supernet.pth'
    torch.save({'state_dict': state, 'meta': {'space': SPACE}}, path)
    return path, state


def reference(state, x, head=True, space=SPACE, allocation=ALLOCATION):
    """The subnet's output computed by the project's own classes, not by supernet.formats."""
    backbone = build_backbone(space, allocation).eval()
    sub = extract_subnet(state, allocation, space, prefix='backbone.')
    backbone.load_state_dict({k[len('backbone.'):]: v for k, v in sub.items()
                              if k.startswith('backbone.')})
    with torch.no_grad():
        pooled = backbone(x)[-1].mean((2, 3))
        return F.linear(pooled, state['head.fc.weight'], state['head.fc.bias']) if head \
            else pooled


def images(batch, size=SIZE, seed=3):
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('head', [True, False])
def test_torchvision_state_dict_loads_strictly_and_computes_the_subnet(supernet_ckpt, tmp_path,
                                                                       head):
    from torchvision.models.resnet import Bottleneck, ResNet
    path, state = supernet_ckpt
    subnet = load_subnet(path, ALLOCATION, head=head)
    out = export_subnet(subnet, 'torchvision', tmp_path / 'tv.pth', input_size=SIZE,
                        verify=False)['path']
    model = ResNet(Bottleneck, list(ALLOCATION), num_classes=CLASSES)
    if not head:
        model.fc = nn.Identity()
    model.load_state_dict(torch.load(out, weights_only=True), strict=True)
    x = images(2)
    with torch.no_grad():
        got = model.eval()(x)
    expected = reference(state, x, head=head)
    assert got.shape == expected.shape == (2, CLASSES if head else 2048)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_timm_state_dict_loads_strictly_and_computes_the_subnet(supernet_ckpt, tmp_path):
    from timm.models.resnet import Bottleneck, ResNet
    path, state = supernet_ckpt
    out = export_subnet(load_subnet(path, ALLOCATION), 'timm', tmp_path / 'timm.pth',
                        verify=False)['path']
    model = ResNet(block=Bottleneck, layers=list(ALLOCATION), num_classes=CLASSES)
    model.load_state_dict(torch.load(out, weights_only=True), strict=True)
    x = images(2)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), reference(state, x), atol=1e-5, rtol=1e-5)


def test_timm_takes_the_deep_stem_and_avg_down_torchvision_refuses(tmp_path):
    from timm.models.resnet import Bottleneck, ResNet
    backbone = randomized(build_backbone(SPACE, (1, 1, 1, 1), deep_stem=True, avg_down=True))
    subnet = subnet_from_state_dict(backbone.state_dict(), SPACE, (1, 1, 1, 1))
    assert subnet.options == {'deep_stem': True, 'avg_down': True}  # read from the weights
    with pytest.raises(ExportRefused, match='deep_stem=True, avg_down=True'):
        check_format(subnet, 'torchvision')
    out = export_subnet(subnet, 'timm', tmp_path / 'd.pth', verify=False)['path']
    model = ResNet(block=Bottleneck, layers=[1, 1, 1, 1], num_classes=0, stem_type='deep',
                   stem_width=32, avg_down=True)
    model.load_state_dict(torch.load(out, weights_only=True), strict=True)
    x = images(2)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), backbone(x)[-1].mean((2, 3)),
                                   atol=1e-5, rtol=1e-5)


def test_onnx_runs_in_onnxruntime_for_two_batch_sizes(supernet_ckpt, tmp_path):
    import onnx
    import onnxruntime
    path, state = supernet_ckpt
    out = export_subnet(load_subnet(path, ALLOCATION), 'onnx', tmp_path / 's.onnx',
                        input_size=SIZE)['path']
    graph = onnx.load(out)
    assert graph.opset_import[0].version == ONNX_OPSET
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    session = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider'])
    for batch in (1, 3):  # neither is the traced batch (2)
        x = images(batch)
        got = torch.from_numpy(session.run(None, {'input': x.numpy()})[0])
        torch.testing.assert_close(got, reference(state, x), atol=1e-4, rtol=1e-4)


def test_onnx_and_torchscript_take_what_torchvision_refuses(tmp_path):
    """The demo space's small-input stem: refused for torchvision / timm, exported to ONNX (its
    feature maps, no head) all the same."""
    import onnxruntime
    space, allocation = 'resnet_bottleneck_demo', (1, 2, 3, 1)
    backbone = randomized(build_backbone(space, allocation))
    subnet = subnet_from_state_dict(backbone.state_dict(), space, allocation)
    for fmt in ('torchvision', 'timm'):
        with pytest.raises(ExportRefused, match='small-input stem'):
            export_subnet(subnet, fmt, tmp_path / f'{fmt}.pth')
    assert not list(tmp_path.iterdir())
    out = export_subnet(subnet, 'onnx', tmp_path / 'demo.onnx')['path']
    session = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider'])
    x = images(3, size=32)
    got = session.run(None, {'input': x.numpy()})
    with torch.no_grad():
        expected = backbone(x)
    assert len(got) == len(expected) == 4
    for g, e in zip(got, expected):
        torch.testing.assert_close(torch.from_numpy(g), e, atol=1e-4, rtol=1e-4)


def test_torchscript_runs_in_a_process_without_archtransfer(supernet_ckpt, tmp_path):
    path, state = supernet_ckpt
    out = export_subnet(load_subnet(path, ALLOCATION), 'torchscript', tmp_path / 's.pt',
                        input_size=SIZE)['path']
    x = images(3)
    torch.save({'x': x, 'expected': reference(state, x)}, tmp_path / 'io.pt')
    script = (
        'import sys, torch\n'
        f'model = torch.jit.load({out!r})\n'
        f'io = torch.load({str(tmp_path / "io.pt")!r})\n'
        'with torch.no_grad():\n'
        '    torch.testing.assert_close(model(io["x"]), io["expected"], atol=1e-5, rtol=1e-5)\n'
        "ours = {'common', 'supernet', 'transfer', 'initialize', 'search', 'archdata', 'engine',\n"
        "        'analysis', 'reproduce', 'mmengine', 'mmdet', 'mmpretrain', 'timm'}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ours)\n"
        "assert not loaded, loaded\n"
        "print('ran')\n")
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and 'ran' in result.stdout, result.stderr[-2000:]


def test_mobilenet_v2_any_depths_and_mnasnet_standard_depths_load_into_torchvision(tmp_path):
    import torchvision.models as tvm
    x = images(2)
    allocation = (1, 2, 1, 1, 2)
    backbone = randomized(build_backbone('mobilenet_v2', allocation))
    subnet = subnet_from_state_dict(backbone.state_dict(), 'mobilenet_v2', allocation)
    with pytest.raises(ExportRefused, match='timm'):
        check_format(subnet, 'timm')
    out = export_subnet(subnet, 'torchvision', tmp_path / 'mb.pth', verify=False)['path']
    setting = [[1, 16, 1, 1], [6, 24, 1, 2], [6, 32, 2, 2], [6, 64, 1, 2], [6, 96, 1, 1],
               [6, 160, 2, 2], [6, 320, 1, 1]]
    model = tvm.MobileNetV2(inverted_residual_setting=setting)
    model.classifier = nn.Identity()
    model.load_state_dict(torch.load(out, weights_only=True), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), backbone(x)[-1].mean((2, 3)),
                                   atol=1e-5, rtol=1e-5)

    backbone = randomized(build_backbone('mnasnet', (3, 3, 3, 2, 4)))
    subnet = subnet_from_state_dict(backbone.state_dict(), 'mnasnet', (3, 3, 3, 2, 4))
    out = export_subnet(subnet, 'torchvision', tmp_path / 'mn.pth', verify=False)['path']
    model = tvm.MNASNet(1.0)
    model.classifier = nn.Identity()
    model.load_state_dict(torch.load(out, weights_only=True), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), backbone(x)[-1].mean((2, 3)),
                                   atol=1e-5, rtol=1e-5)
    other = subnet_from_state_dict(build_backbone('mnasnet', (1, 1, 1, 1, 1)).state_dict(),
                                   'mnasnet', (1, 1, 1, 1, 1))
    with pytest.raises(ExportRefused, match='fixed depths 3-3-3-2-4'):
        check_format(other, 'torchvision')


@pytest.mark.parametrize('options, refused', [
    (dict(style='caffe'), "style='caffe'"),
    (dict(norm_cfg=dict(type='GN', num_groups=8)), 'norm_cfg'),
    (dict(dilations=(1, 1, 1, 2)), 'dilations'),
])
def test_options_torchvision_cannot_express_are_refused(options, refused):
    backbone = build_backbone(SPACE, (1, 1, 1, 1), **options)
    subnet = subnet_from_state_dict(backbone.state_dict(), SPACE, (1, 1, 1, 1), options=options)
    for fmt in ('torchvision', 'timm'):
        with pytest.raises(ExportRefused, match=refused.replace('(', r'\(')) as err:
            check_format(subnet, fmt)
        assert '\n' not in str(err.value)
    for fmt in ('onnx', 'torchscript'):
        check_format(subnet, fmt)  # these take anything


def test_subnet_checkpoint_carries_its_allocation(supernet_ckpt, tmp_path):
    from supernet.extract import extract_subnet_checkpoint
    path, state = supernet_ckpt
    subnet_path = tmp_path / 'subnet.pth'
    extract_subnet_checkpoint(path, ALLOCATION, subnet_path, input_size=32)
    subnet = load_subnet(subnet_path)
    assert subnet.allocation == ALLOCATION and subnet.head_state is not None
    x = images(2)
    with torch.no_grad():
        torch.testing.assert_close(subnet.model()(x), reference(state, x), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='is the subnet 1-2-1-2'):
        load_subnet(subnet_path, (1, 1, 1, 1))
    with pytest.raises(ValueError, match='pass the allocation'):
        load_subnet(path)


def test_config_snippet_builds_the_subnet(tmp_path):
    """For ResNet-18's depths: the project's AllocatedResNet and mmpretrain's own ResNet-18,
    both from the exported torchvision file, compute the subnet; other depths get only the
    former."""
    from mmpretrain.registry import MODELS

    import engine.registry  # noqa: F401  (what custom_imports names)
    space, allocation = 'resnet_basic', (2, 2, 2, 2)
    backbone = randomized(build_backbone(space, allocation))
    subnet = subnet_from_state_dict(backbone.state_dict(), space, allocation)
    out = export_subnet(subnet, 'torchvision', tmp_path / 'r18.pth', verify=False)['path']
    snippet = config_snippet(subnet, out, '')
    assert "type='ResNet', depth=18" in snippet
    x = images(1)
    with torch.no_grad():
        expected = backbone(x)[-1]
    built = []
    for line in snippet.splitlines():
        if line.startswith('model = '):
            scope = {}
            exec(line, scope)
            model = MODELS.build(scope['model']['backbone'])
            model.init_weights()
            model.eval()
            with torch.no_grad():
                torch.testing.assert_close(model(x)[-1], expected)
            built.append(type(model).__name__)
    assert built == ['AllocatedResNet', 'ResNet']
    other = subnet_from_state_dict(build_backbone(space, (1, 3, 2, 1)).state_dict(), space,
                                   (1, 3, 2, 1))
    assert "type='ResNet'" not in config_snippet(other, out)


def _cli(argv, capsys):
    tool = load_script(ROOT / 'tools/export_subnet.py', 'export_subnet_tool')
    from common.cli import run_cli
    with pytest.raises(SystemExit) as exit_info:
        run_cli(tool.main, argv, prog='export_subnet.py')
    err = capsys.readouterr().err
    return exit_info.value.code, err


def test_cli_refusals_are_one_line_exit_2_and_write_nothing(supernet_ckpt, tmp_path, capsys):
    path, _ = supernet_ckpt
    demo = tmp_path / 'demo.pth'
    demo_backbone = build_backbone('resnet_bottleneck_demo', (1, 1, 1, 1))
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               demo_backbone.state_dict().items()},
                'meta': {'space': 'resnet_bottleneck_demo', 'allocation': [1, 1, 1, 1]}}, demo)
    out = str(tmp_path / 'out' / 'x')
    cases = [
        ([str(path), '--format', 'onnx', '--out', out], 'pass the allocation'),
        ([str(demo), '--format', 'onnx', 'torchvision', '--out', out], 'small-input stem'),
        ([str(demo), '--allocation', '1,2,1,1', '--format', 'onnx', '--out', out],
         'is the subnet 1-1-1-1'),
        ([str(path), '--allocation', '1,2,1,2', '--space', 'resnet_bottleneck_demo',
          '--format', 'onnx', '--out', out], 'do not fit'),
        ([str(path), '--allocation', '1,2,1,2', '--format', 'torchvision', '--out', out,
          '--backbone-option', "style='caffe'"], "style='caffe'"),
        ([str(tmp_path / 'missing.pth'), '--format', 'onnx'], 'no such checkpoint'),
        ([str(path), '--allocation', '1;2', '--format', 'onnx'], 'e.g. 1-3-7-5'),
    ]
    for argv, message in cases:
        code, err = _cli(argv, capsys)
        assert code == 2, (argv, err)
        assert err.count('\n') == 1 and message in err, (argv, err)
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('formats', [['all']])
def test_cli_writes_every_format_and_the_config(supernet_ckpt, tmp_path, formats):
    path, _ = supernet_ckpt
    out = tmp_path / 'r' / 'sub'
    result = subprocess.run([sys.executable, str(ROOT / 'tools/export_subnet.py'), str(path),
                             '--allocation', '1-2-1-2', '--format', *formats, '--out', str(out),
                             '--input-size', str(SIZE)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    for suffix in ('.torchvision.pth', '.timm.pth', '.onnx', '.torchscript.pt'):
        assert Path(f'{out}{suffix}').is_file(), suffix
    assert "type='AllocatedResNet'" in result.stdout and 'stage_blocks=(1, 2, 1, 2)' in \
        result.stdout and 'num_classes=10' in result.stdout
