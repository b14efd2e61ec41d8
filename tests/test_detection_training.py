"""From a subnet checkpoint to a trained detector: Faster-RCNN and Mask-RCNN with an
AllocatedResNet load the subnet through init_cfg, train on the embedded COCO set and are scored by
mmdet's CocoMetric; the same through tools/dist_train.sh on two gloo processes. The paper's
MobileNetV2 and MnasNet detectors too: no parameter goes without a gradient, so DDP trains them."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from archdata import write_coco_glyphs
from common.checkpoint import atomic_save, load_checkpoint_safely
from engine.launch import build_runner
from supernet import build_backbone
from supernet.extract import extract_subnet_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SUBNET = (1, 2, 3, 2)
DEMO = {'faster': ROOT / 'configs/demo/faster_rcnn_subnet_glyphs.py',
        'mask': ROOT / 'configs/demo/mask_rcnn_subnet_glyphs.py'}


@pytest.fixture(scope='module')
def glyphs(tmp_path_factory):
    return write_coco_glyphs(tmp_path_factory.mktemp('glyphs'), num_train=4, num_val=2,
                             canvas=(64, 80), scale=(0.75, 1.5))


@pytest.fixture(scope='module')
def subnet_checkpoint(tmp_path_factory):
    """A subnet cut by extract_subnet_checkpoint (tools/extract_subnet.py) from a demo super-network checkpoint
    shaped like tools/train_supernet.py's (a classifier: backbone.* keys, meta with the space)."""
    folder = tmp_path_factory.mktemp('subnet')
    torch.manual_seed(0)
    supernet = build_backbone('resnet_bottleneck_demo')
    state = {f'backbone.{k}': v for k, v in supernet.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 256)
    atomic_save({'state_dict': state, 'meta': {'space': 'resnet_bottleneck_demo'}},
                folder / 'supernet.pth')
    extract_subnet_checkpoint(folder / 'supernet.pth', SUBNET, folder / 'subnet.pth')
    return folder / 'subnet.pth'


def small(glyphs, subnet, **extra):
    """Overrides: the tiny set, the subnet, one image per GPU-less worker, a constant LR."""
    return {'model.backbone.stage_blocks': SUBNET, 'model.backbone.init_cfg.checkpoint': str(subnet),
            'train_dataloader.num_workers': 0, 'val_dataloader.num_workers': 0,
            'test_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
            'val_dataloader.persistent_workers': False,
            'test_dataloader.persistent_workers': False, 'default_hooks.logger.interval': 1,
            **extra}


@pytest.mark.parametrize('kind', ['faster', 'mask'])
def test_detector_loads_the_subnet_trains_and_is_scored_by_coco_metric(kind, glyphs,
                                                                      subnet_checkpoint, tmp_path):
    cfg = Config.fromfile(DEMO[kind])
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = kind
    # One fixed batch of two images (no flip, no shuffle) for 12 iterations at a constant LR.
    cfg.param_scheduler = []
    fixed = {'train_dataloader.batch_size': 2, 'train_dataloader.dataset.indices': 2,
             'train_dataloader.sampler.shuffle': False,
             'train_dataloader.dataset.pipeline.3.prob': 0.0,
             'train_cfg.max_epochs': 12, 'train_cfg.val_interval': 100,
             'default_hooks.checkpoint.interval': 100, 'val_dataloader.batch_size': 2,
             # every box counts: an untrained detector may score none above mmdet's 0.05
             'model.test_cfg.rcnn.score_thr': 0.0}
    runner = build_runner(cfg, data_root=str(glyphs),
                          cfg_options=small(glyphs, subnet_checkpoint, **fixed))
    model = runner.model
    assert type(model).__name__ == {'faster': 'FasterRCNN', 'mask': 'MaskRCNN'}[kind]
    assert runner.cfg.val_evaluator.ann_file.startswith(str(glyphs))  # --data-root moved it

    subnet = load_checkpoint_safely(subnet_checkpoint)['state_dict']
    expected = {k[len('backbone.'):]: v for k, v in subnet.items() if k.startswith('backbone.')}
    backbone = model.backbone.state_dict()
    assert backbone.keys() == expected.keys()
    assert any(not torch.equal(backbone[k], v) for k, v in expected.items())
    model.init_weights()
    assert all(torch.equal(model.backbone.state_dict()[k], v) for k, v in expected.items())
    stem = model.backbone.conv1.weight.clone()
    layer3 = model.backbone.layer3[0].conv1.weight.clone()

    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 12 and np.isfinite(losses).all()
    assert losses[-3:].mean() < 0.8 * losses[:3].mean(), losses
    assert torch.equal(model.backbone.conv1.weight, stem)  # frozen_stages=1
    assert not torch.equal(model.backbone.layer3[0].conv1.weight, layer3)

    metrics = runner.val()
    names = ['coco/bbox_mAP', 'coco/bbox_mAP_50'] + (['coco/segm_mAP'] if kind == 'mask' else [])
    for name in names:
        assert name in metrics and -1 <= metrics[name] <= 1


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def two_process_train(config, glyphs, work_dir, overrides: dict, *args) -> str:
    """``tools/train.py`` on two gloo processes through ``tools/dist_train.sh``; its log."""
    cmd = ['bash', str(ROOT / 'tools/dist_train.sh'), str(config), '2', '--dist-backend', 'gloo',
           '--work-dir', str(work_dir), '--data-root', str(glyphs), *args, '--cfg-options',
           *(f'{k}={v}'.replace(' ', '') for k, v in overrides.items())]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PORT': str(free_port()),
           'TRAIN_SCRIPT': str(ROOT / 'tools/train.py'), 'PYTHONPATH': str(ROOT),
           'PATH': f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}'}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout + result.stderr


def test_two_process_torchrun_trains_and_evaluates_a_detector(glyphs, subnet_checkpoint, tmp_path):
    overrides = small(glyphs, subnet_checkpoint, **{
        'train_dataloader.batch_size': 2, 'val_dataloader.batch_size': 1,
        'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1})
    log = two_process_train(DEMO['faster'], glyphs, tmp_path, overrides, '--test')
    assert 'distributed training on CPU with the gloo backend' in log
    assert log.count('coco/bbox_mAP:') >= 2  # validation after the epoch, then --test
    checkpoint = load_checkpoint_safely(tmp_path / 'epoch_1.pth')
    assert checkpoint['meta']['epoch'] == 1
    assert 'backbone.layer3.2.conv1.weight' in checkpoint['state_dict']


# The paper's Table 1 detectors of the other backbone families, on the glyph set: COCO's file
# names and classes swapped for the glyphs', images at 160x128, no validation.
FAMILY_CONFIGS = {family: f'configs/detection/faster_rcnn_transfer_{family}_fpn_1x_coco.py'
                  for family in ('r50', 'mbv2', 'mnasnet')}


def glyph_overrides(glyphs) -> dict:
    classes = tuple(c['name'] for c in json.loads(
        (Path(glyphs) / 'annotations/instances_train.json').read_text())['categories'])
    return {'model.backbone.init_cfg': None,
            'train_dataloader.dataset.ann_file': 'annotations/instances_train.json',
            'train_dataloader.dataset.data_prefix.img': 'train/',
            'train_dataloader.dataset.metainfo.classes': classes,
            'train_dataloader.dataset.pipeline.2.scale': (160, 128),
            'train_dataloader.batch_size': 1, 'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
            'test_dataloader': None, 'test_cfg': None, 'test_evaluator': None,
            'train_cfg.max_epochs': 1, 'default_hooks.logger.interval': 1}


@pytest.mark.parametrize('family', sorted(FAMILY_CONFIGS))
def test_one_detector_loss_gives_every_trained_parameter_a_gradient(family):
    """What DDP without find_unused_parameters needs: no trainable parameter is left out of the
    loss (MobileNetV2 / MnasNet once built and ran conv2 without using its output)."""
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(ROOT / FAMILY_CONFIGS[family])
    assert not cfg.get('find_unused_parameters', False)
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    torch.manual_seed(0)
    detector = MODELS.build(cfg.model).train()
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 160)] * 2, num_items=[3, 2],
                            num_classes=cfg.model.roi_head.bbox_head.num_classes)
    data = detector.data_preprocessor(packed, True)
    loss, _ = detector.parse_losses(detector(**data, mode='loss'))
    loss.backward()
    trained = [name for name, p in detector.named_parameters() if p.requires_grad]
    assert any(name.startswith('backbone.') for name in trained)
    assert [name for name, p in detector.named_parameters()
            if p.requires_grad and p.grad is None] == []


@pytest.mark.parametrize('family', ['mbv2', 'mnasnet'])
def test_two_process_torchrun_trains_mobilenet_and_mnasnet_detectors(family, glyphs, tmp_path):
    """2-process DDP (gloo) for 2 iterations; it stopped at the second ("Expected to have
    finished reduction in the prior iteration") while conv2 got no gradient."""
    log = two_process_train(ROOT / FAMILY_CONFIGS[family], glyphs, tmp_path,
                            glyph_overrides(glyphs))
    assert 'Epoch(train) [1][2/2]' in log  # 4 images, 2 processes, 1 image each
    state = load_checkpoint_safely(tmp_path / 'epoch_1.pth')['state_dict']
    assert 'backbone.layer7.0.linear_conv.conv.weight' in state
    assert not any(key.startswith('backbone.conv2.') for key in state)
