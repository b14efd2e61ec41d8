"""Bad input, strictness, all-or-nothing writes, untraceable models, reports, BN recalibration."""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import timm
import torch
import torch.nn as nn

import transfer
from transfer import IncompleteTransferError, recalibrate_bn, transfer_weights
from transfer.dpiat import DPIAT
from transfer_nets import (PlainNet5, ResNet8, TokenNet, Untraceable, outputs, randomize,
                           snapshot)

METHODS = sorted(transfer.METHODS)
ROOT = Path(__file__).resolve().parents[1]


def unchanged(model, before):
    return all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_unknown_method_and_option_are_named():
    with pytest.raises(ValueError, match=r"method='vgg'.*'dpiat', 'hmt', 'tli'"):
        transfer_weights(ResNet8(), ResNet8(), 'vgg')
    with pytest.raises(TypeError, match=r"no option\(s\) \['lam'\]; allowed: \['align'\]"):
        transfer_weights(ResNet8(), ResNet8(), 'hmt', lam=0.5)
    with pytest.raises(ValueError, match='align'):
        transfer_weights(ResNet8(), ResNet8(), 'hmt', align='middle')
    with pytest.raises(ValueError, match='lam'):
        transfer_weights(ResNet8(), ResNet8(), 'tli', lam=1.5)
    with pytest.raises(TypeError, match='target: expected an nn.Module'):
        transfer_weights(ResNet8(), {'weight': torch.zeros(1)})


@pytest.mark.parametrize('method', METHODS)
def test_nothing_in_common_warns_and_leaves_the_target(method):
    src = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    dst = TokenNet()  # embedding, layernorm, linear, groupnorm: no conv, no batchnorm
    before = snapshot(dst)
    with pytest.warns(UserWarning, match='coverage is 0'):
        report = transfer_weights(src, dst, method)
    assert report.coverage == 0 and report.num_transferred == 0
    assert len(report.untouched) == len(before)
    assert unchanged(dst, before)


def test_strict_and_min_coverage_raise_and_leave_the_target():
    src, dst = randomize(ResNet8(), 0), randomize(ResNet8(), 1)
    before = snapshot(dst)
    with pytest.raises(IncompleteTransferError, match='blocks.1.shortcut.0.weight') as error:
        transfer_weights(src, dst, 'hmt', strict=True)   # HMT leaves the shortcuts alone
    assert set(error.value.missing) == {k for k in before if '.shortcut.' in k}
    assert unchanged(dst, before)
    with pytest.raises(IncompleteTransferError, match='min_coverage'):
        transfer_weights(src, dst, 'hmt', min_coverage=0.99)
    assert unchanged(dst, before)
    report = transfer_weights(src, dst, 'hmt', min_coverage=0.5)
    assert report.coverage < 1 and not unchanged(dst, before)
    transfer_weights(src, dst, 'dpiat', strict=True)      # complete: no error


def test_an_error_midway_leaves_the_target_unwritten(monkeypatch):
    src, dst = randomize(ResNet8(), 0), randomize(ResNet8(), 1)
    before, calls = snapshot(dst), []
    original = DPIAT.adapt

    def adapt_then_fail(self, *args):
        calls.append(1)
        if len(calls) == 10:
            raise RuntimeError('boom')
        return original(self, *args)

    monkeypatch.setattr(DPIAT, 'adapt', adapt_then_fail)
    with pytest.raises(RuntimeError, match='boom'):
        transfer_weights(src, dst, 'dpiat')
    assert unchanged(dst, before)


def test_exclude_keeps_the_head_and_out_of_the_totals():
    src, dst = randomize(PlainNet5(num_classes=7), 0), randomize(PlainNet5(num_classes=3), 1)
    before = snapshot(dst)
    report = transfer_weights(src, dst, 'dpiat', exclude='head.*', strict=True)
    assert report['head.2.weight'].status == 'excluded'
    assert torch.equal(dst.head[2].weight, before['head.2.weight'])
    assert report.num_tensors == len(before) - 2 and report.coverage == 1.0


def test_integer_buffers_are_skipped_and_listed():
    class Indexed(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(torch.randn(4, 3))
            self.register_buffer('index', torch.arange(4))

        def forward(self, x):
            return x @ self.table[self.index].T

    src, dst = Indexed(), Indexed()
    report = transfer_weights(src, dst, 'dpiat')
    assert report.skipped == ['index'] and 'int64' in report['index'].reason
    assert report['table'].op == 'copy'


@pytest.mark.parametrize('method', METHODS)
def test_untraceable_model_falls_back_to_module_order(method):
    src, dst = randomize(Untraceable(), 0), randomize(Untraceable(), 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        report = transfer_weights(src, dst, method)
    traced_warning = any('module order' in str(w.message) for w in caught)
    assert traced_warning == (method != 'dpiat')  # DPIAT reads the module tree, not the graph
    assert report.coverage == 1.0
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(src.eval()(x), dst.eval()(x))


@pytest.mark.parametrize('method', METHODS)
def test_features_only_models_with_list_outputs(method):
    src = randomize(timm.create_model('resnet18', features_only=True, out_indices=(2, 3, 4)))
    dst = timm.create_model('resnet10t', features_only=True, out_indices=(2, 3, 4))
    report = transfer_weights(src, dst, method)
    assert report.coverage >= (0.5 if method == 'hmt' else 0.8)
    assert [o.shape[1] for o in outputs(dst.eval()(torch.randn(1, 3, 32, 32)))] == [128, 256, 512]


def test_graphs_of_non_timm_models_do_not_import_timm():
    # timm's fx lists matter for timm models only; importing timm costs seconds (see graph.py).
    code = ('import sys, torch.nn as nn\n'
            'from transfer import transfer_weights\n'
            'net = lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())\n'
            'report = transfer_weights(net(), net(), "hmt")\n'
            'print(report.coverage, "timm" in sys.modules)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ['1.0', 'False']


def test_report_table_and_json(tmp_path):
    src, dst = randomize(ResNet8(), 0), ResNet8(widths=(8, 16, 32))
    report = transfer_weights(src, dst, 'hmt')
    table = report.table()
    assert table.splitlines()[0].split() == ['target', 'tensor', 'shape', 'source', 'tensor',
                                             'shape', 'op', 'covered']
    assert 'stem.0.weight' in table and 'off the longest chain' in table
    data = json.loads(report.to_json(tmp_path / 'report.json'))
    assert json.loads((tmp_path / 'report.json').read_text()) == data
    assert len(data['tensors']) == len(dst.state_dict())
    assert data['coverage'] == report.coverage and data['untouched'] == report.untouched
    first = data['tensors'][0]
    assert first['target'] == 'stem.0.weight' and first['sources'][0][0] == 'stem.0.weight'
    assert first['op'] == 'cyclic_stack' and first['covered'] == 1.0
    assert report.summary().startswith('hmt: ResNet8 -> ResNet8:')


def test_min_similarity_refuses_a_distant_source():
    src, dst = TokenNet(), PlainNet5()
    before = snapshot(dst)
    with pytest.warns(UserWarning, match='refused: similarity'):
        report = transfer_weights(src, dst, 'tli', min_similarity=0.5)
    assert report.similarity < 0.5 and report.num_transferred == 0 and unchanged(dst, before)
    report = transfer_weights(PlainNet5(), dst, 'tli', min_similarity=0.5)
    assert report.similarity == 1.0 and report.coverage == 1.0


def test_recalibrate_bn_measures_the_new_statistics():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    batches = [torch.randn(8, 3, 6, 6) + 2 for _ in range(3)]
    recalibrate_bn(model.eval(), batches)
    with torch.no_grad():
        features = torch.cat([model[0](b) for b in batches])     # (24, 4, 4, 4)
    torch.testing.assert_close(model[1].running_mean, features.mean((0, 2, 3)))
    assert not model.training
