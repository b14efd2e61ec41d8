"""Architecture similarity, source ranking and fingerprint caching; the CLI."""
from importlib import util
from pathlib import Path

import pytest
import timm
import torch
import torch.nn as nn
from transfer_nets import PlainNet5, ResNet8, TokenNet, randomize, vgg11

from common.checkpoint import read_state_dict
from transfer import fingerprint, rank_sources, similarity
from transfer.ops import cyclic_stack, interpolate_kernel

_TOOLS = Path(__file__).resolve().parents[1] / 'tools'
_spec = util.spec_from_file_location('transfer_tool', _TOOLS / 'transfer_weights.py')
transfer_tool = util.module_from_spec(_spec)
_spec.loader.exec_module(transfer_tool)


def test_similarity_is_symmetric_and_one_on_itself():
    a, b = ResNet8(), ResNet8(widths=(32, 64, 128))
    assert similarity(a, a) == 1.0
    assert similarity(a, b) == pytest.approx(similarity(b, a))
    assert 0 < similarity(a, b) < 1
    assert similarity(nn.Sequential(nn.Conv2d(3, 8, 3)), TokenNet()) == 0.0


def test_rank_sources_orders_by_similarity():
    target = ResNet8(widths=(16, 32, 64))
    pool = {'tokens': TokenNet(), 'resnet8_wide': ResNet8(widths=(24, 48, 96)),
            'resnet8_same': ResNet8(), 'vgg11': vgg11(), 'plain5': PlainNet5()}
    ranking = rank_sources(target, pool)
    names = [name for name, _ in ranking]
    assert names[:2] == ['resnet8_same', 'resnet8_wide'] and names[-1] == 'tokens'
    assert ranking[0][1] == 1.0
    scores = [s for _, s in ranking]
    assert scores == sorted(scores, reverse=True)
    assert [n for n, _ in rank_sources(target, list(pool.values()))][0] == '2:ResNet8'


def test_fingerprint_is_cached_until_the_shapes_change():
    model = ResNet8()
    first = fingerprint(model)
    assert fingerprint(model) is first
    model.fc = nn.Linear(64, 3)
    assert fingerprint(model) is not first and fingerprint(model).num_layers == first.num_layers


def test_cli_writes_checkpoint_and_report(tmp_path, capsys):
    source = randomize(timm.create_model('resnet10t', num_classes=10))
    torch.save({'state_dict': source.state_dict()}, tmp_path / 'src.pth')
    cfg = tmp_path / 'resnet.py'
    cfg.write_text("model = dict(type='AllocatedResNet', space='resnet_basic', "
                   "stage_blocks=(1, 1, 1, 1))\n")
    out = tmp_path / 'out' / 'dst.pth'
    report = transfer_tool.main(['timm:resnet10t', str(cfg), '--src-ckpt',
                                 str(tmp_path / 'src.pth'), '--num-classes', '10',
                                 '--method', 'hmt', '--out', str(out),
                                 '--opt', 'align=stretch', '--rows', '3'])
    printed = capsys.readouterr().out
    assert 'hmt: resnet10t -> AllocatedResNet' in printed and f'wrote {out}' in printed
    assert torch.load(out, weights_only=True)['meta']['transfer']['method'] == 'hmt'
    assert (tmp_path / 'out' / 'dst.transfer.json').exists() and report.coverage > 0.5
    # the stem: resnet10t's first 3x3 conv (24 channels) -> a 7x7 conv with 64 channels
    stem = source.conv1[0].weight.detach()                                  # (24, 3, 3, 3)
    expected = cyclic_stack(interpolate_kernel(stem, (7, 7)), (64, 3, 7, 7))
    torch.testing.assert_close(read_state_dict(out)['conv1.weight'], expected)
    with pytest.raises(ValueError, match="timm has no model 'resnet_nope'"):
        transfer_tool.main(['timm:resnet_nope', str(cfg), '--out', str(out)])


def test_cli_reads_the_projects_training_checkpoints(tmp_path):
    # what SafeCheckpointRunner writes: numpy scalars in meta and a plain message hub
    import numpy as np
    source = randomize(timm.create_model('resnet10t', num_classes=10))
    torch.save({'state_dict': source.state_dict(),
                'meta': {'seed': np.int64(0), 'epoch': np.int64(3), 'lr': np.float64(0.1)},
                'message_hub': {'log_scalars': {'train/loss': {'log_history': [1.0]}}}},
               tmp_path / 'epoch_3.pth')
    out = tmp_path / 'dst.pth'
    transfer_tool.main(['timm:resnet10t', 'timm:resnet14t', '--src-ckpt',
                        str(tmp_path / 'epoch_3.pth'), '--num-classes', '10', '--out', str(out)])
    torch.testing.assert_close(read_state_dict(out)['conv1.0.weight'],
                               source.conv1[0].weight.detach())
