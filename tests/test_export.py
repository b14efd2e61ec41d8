"""Weight inheritance: a subnet checkpoint cut from a trained super-network checkpoint."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from archdata import prepare_demo_source
from common.checkpoint import load_checkpoint_safely
from engine.launch import build_runner
from supernet import AllocationError, extract_subnet
from supernet.extract import extract_subnet_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def test_extracted_subnet_reproduces_the_supernet_subnet(tmp_path):
    data = prepare_demo_source(tmp_path / 'fashion', train_per_class=8, val_per_class=2)
    cfg = Config.fromfile(ROOT / 'configs/demo/supernet_resnet_fashion.py')
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = 'export'
    small = {'train_cfg.max_iters': 2, 'train_cfg.val_interval': 100,
             'train_dataloader.batch_size': 8, 'train_dataloader.num_workers': 0,
             'train_dataloader.persistent_workers': False, 'val_dataloader.num_workers': 0,
             'val_dataloader.persistent_workers': False, 'default_hooks.checkpoint.interval': 2}
    runner = build_runner(cfg, data_root=str(data), cfg_options=small)
    runner.train()
    supernet_ckpt = tmp_path / 'work' / 'iter_2.pth'
    assert load_checkpoint_safely(supernet_ckpt)['meta']['space'] == 'resnet_bottleneck_demo'

    out = tmp_path / 'subnet.pth'
    result = subprocess.run([sys.executable, str(ROOT / 'tools/extract_subnet.py'),
                             str(supernet_ckpt), '--allocation', '1,3,7,5', '--out', str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'stage_blocks': (1, 3, 7, 5)" in result.stdout and "prefix': 'backbone.'" in result.stdout
    subnet = load_checkpoint_safely(out)
    assert subnet['meta']['allocation'] == [1, 3, 7, 5] and subnet['meta']['flops'] > 0
    assert subnet['meta']['transferred'] is None  # every block comes from the super-network
    assert not any(k.startswith('backbone.layer3.7.') for k in subnet['state_dict'])
    assert 'head.fc.weight' in subnet['state_dict']

    supernet_model = runner.model.eval()
    supernet_model.backbone.set_allocation((1, 3, 7, 5))
    images = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        expected = supernet_model(images, mode='tensor')
    # Route 1: the whole subnet classifier (load_from / load_state_dict).
    classifier_cfg = cfg.model.copy()
    classifier_cfg.backbone = dict(type='AllocatedResNet', space='resnet_bottleneck_demo',
                                   stage_blocks=(1, 3, 7, 5), out_indices=(3,))
    classifier = MODELS.build(classifier_cfg).eval()
    classifier.load_state_dict(subnet['state_dict'], strict=True)
    with torch.no_grad():
        torch.testing.assert_close(classifier(images, mode='tensor'), expected)
    # Route 2: a backbone initialised through init_cfg with the printed prefix.
    backbone = MODELS.build(dict(type='AllocatedResNet', space='resnet_bottleneck_demo',
                                 stage_blocks=(1, 3, 7, 5), out_indices=(3,),
                                 init_cfg=dict(type='Pretrained', checkpoint=str(out),
                                               prefix='backbone.')))
    backbone.init_weights()
    with torch.no_grad():
        torch.testing.assert_close(backbone.eval()(images)[0],
                                   supernet_model.backbone(images)[0])


def test_subnet_fine_tunes_on_the_source_from_its_checkpoint(tmp_path):
    # Weight search step 1: the extracted subnet (whole classifier keys) loads with load_from.
    data = prepare_demo_source(tmp_path / 'fashion', train_per_class=4, val_per_class=1)
    cfg = Config.fromfile(ROOT / 'configs/demo/supernet_resnet_fashion.py')
    cfg.model.backbone = dict(type='ResNetSuperNet', space='resnet_bottleneck_demo',
                              out_indices=(3,))
    supernet = MODELS.build(cfg.model)
    from common.checkpoint import atomic_save
    atomic_save({'state_dict': supernet.state_dict(),
                 'meta': {'space': 'resnet_bottleneck_demo'}}, tmp_path / 'supernet.pth')
    extract_subnet_checkpoint(tmp_path / 'supernet.pth', (1, 4, 5, 2), tmp_path / 'subnet.pth')

    subnet_cfg = Config.fromfile(ROOT / 'configs/demo/finetune_subnet_fashion.py')
    subnet_cfg.work_dir = str(tmp_path / 'work')
    subnet_cfg.experiment_name = 'subnet_source'
    runner = build_runner(subnet_cfg, data_root=str(data), cfg_options={
        'load_from': str(tmp_path / 'subnet.pth'), 'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 2, 'train_dataloader.batch_size': 8,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'default_hooks.checkpoint.interval': 2})
    runner.load_or_resume()  # what train() starts with
    subnet = load_checkpoint_safely(tmp_path / 'subnet.pth')['state_dict']
    loaded = runner.model.state_dict()
    assert loaded.keys() == subnet.keys()
    assert all(torch.equal(loaded[k], v) for k, v in subnet.items())
    runner.train()
    assert type(runner.model.backbone).__name__ == 'AllocatedResNet'
    assert runner.model.backbone.stage_blocks == (1, 4, 5, 2)
    assert load_checkpoint_safely(tmp_path / 'work' / 'iter_2.pth')['meta']['iter'] == 2


def test_subnet_deeper_than_the_supernet_grows_its_extra_blocks_by_transfer(tmp_path):
    # What greedy_search(..., beyond_max=1) may find: layer4 one block past its maximum of 14.
    from common.checkpoint import atomic_save
    from initialize.grow import extract_subnet_beyond_max
    cfg = Config.fromfile(ROOT / 'configs/demo/supernet_resnet_fashion.py')
    cfg.model.backbone = dict(type='ResNetSuperNet', space='resnet_bottleneck_demo',
                              out_indices=(3,))
    torch.manual_seed(0)
    supernet = MODELS.build(cfg.model)
    atomic_save({'state_dict': supernet.state_dict(),
                 'meta': {'space': 'resnet_bottleneck_demo'}}, tmp_path / 'supernet.pth')
    deeper, inside = (1, 1, 1, 15), (1, 1, 1, 14)
    with pytest.raises(AllocationError, match=r'layer4\) has depth 15, allowed 1..14'):
        extract_subnet_checkpoint(tmp_path / 'supernet.pth', deeper, tmp_path / 'subnet.pth')  # not silently
    backbone_cfg = extract_subnet_beyond_max(tmp_path / 'supernet.pth', deeper, tmp_path / 'subnet.pth',
                                      beyond_max=1)
    assert backbone_cfg['stage_blocks'] == deeper
    subnet = load_checkpoint_safely(tmp_path / 'subnet.pth')
    assert subnet['meta']['transferred'] == {'method': 'dpiat', 'source': list(inside),
                                            'coverage': 1.0}
    state = subnet['state_dict']

    classifier_cfg = cfg.model.copy()
    classifier_cfg.backbone = dict(type='AllocatedResNet', space='resnet_bottleneck_demo',
                                   stage_blocks=deeper, out_indices=(3,))
    MODELS.build(classifier_cfg).load_state_dict(state, strict=True)
    # The blocks the super-network has are inherited exactly, the head too; only layer4.14 is new
    inherited = extract_subnet(supernet.state_dict(), inside, 'resnet_bottleneck_demo',
                               'backbone.')
    assert all(torch.equal(state[key], value) for key, value in inherited.items())
    assert {k for k in state if k not in inherited} == {
        k for k in state if k.startswith('backbone.layer4.14.')} != set()
    # ... and the new block is a copy of one of its stage's trained blocks (same shapes: DPIAT's
    # center crop is the whole tensor), not a fresh initialization.
    for name in ('conv1.weight', 'conv3.weight', 'bn2.running_var'):
        new = state[f'backbone.layer4.14.{name}']
        assert any(torch.equal(new, state[f'backbone.layer4.{i}.{name}']) for i in range(1, 14))

    result = subprocess.run([sys.executable, str(ROOT / 'tools/extract_subnet.py'),
                             str(tmp_path / 'supernet.pth'), '--allocation', '1,1,1,15',
                             '--beyond-max', '1', '--transfer-method', 'tli', '--out', str(tmp_path / 'tli.pth')],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'stage_blocks': (1, 1, 1, 15)" in result.stdout
    assert load_checkpoint_safely(tmp_path / 'tli.pth')['meta']['transferred']['method'] == 'tli'
