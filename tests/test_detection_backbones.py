"""Every registered backbone inside an mmdet detector built from our detection configs: the
features FPN receives have the channels it expects and the strides the anchors and RoIs use."""
import copy
import functools
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

import engine.registry  # noqa: F401  (what the configs' custom_imports do)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.relative_to(ROOT).as_posix() for p in
                 [*(ROOT / 'configs/detection').glob('*.py'),
                  *(ROOT / 'configs/demo').glob('*_glyphs.py')])
# The MobileNetV2 and MnasNet super-networks have no config of their own: the same detectors
# with the super-network as backbone.
SUPERNET_VARIANTS = [('configs/detection/faster_rcnn_transfer_mbv2_fpn_1x_coco.py',
                      'MobileNetV2SuperNet'),
                     ('configs/detection/faster_rcnn_transfer_mnasnet_fpn_1x_coco.py',
                      'MnasNetSuperNet')]


@functools.lru_cache(maxsize=None)
def parse(config):
    return Config.fromfile(ROOT / config)


def load(config, backbone_type=None):
    cfg = copy.deepcopy(parse(config))
    if backbone_type is not None:
        cfg.model.backbone.type = backbone_type
        cfg.model.backbone.pop('stage_blocks')
    return cfg


def test_configs_cover_every_registered_backbone_and_the_papers_allocations():
    types = {load(c).model.backbone.type for c in CONFIGS} | {t for _, t in SUPERNET_VARIANTS}
    assert types == {'AllocatedResNet', 'ResNetSuperNet', 'AllocatedMobileNetV2',
                     'MobileNetV2SuperNet', 'AllocatedMnasNet', 'MnasNetSuperNet'}
    blocks = {c: load(c).model.backbone.get('stage_blocks') for c in CONFIGS}
    expected = {'r37': (1, 3, 4, 4), 'r41': (1, 3, 5, 4), 'r44': (1, 3, 5, 5),
                'r47': (1, 3, 6, 5), 'r50': (1, 3, 7, 5), 'r53': (1, 3, 7, 6),
                'r101': (2, 5, 19, 7), 'mbv2': (2, 2, 2, 3, 5), 'mnasnet': (3, 3, 2, 3, 4)}
    for name, allocation in expected.items():
        assert blocks[f'configs/detection/faster_rcnn_transfer_{name}_fpn_1x_coco.py'] == \
            allocation
    assert blocks['configs/detection/mask_rcnn_transfer_r50_fpn_1x_coco.py'] == (1, 3, 7, 5)


@pytest.mark.parametrize('config, backbone_type',
                         [(c, None) for c in CONFIGS] + SUPERNET_VARIANTS)
def test_backbone_feeds_fpn_the_channels_and_strides_it_expects(config, backbone_type):
    cfg = load(config, backbone_type)
    assert cfg.custom_imports.imports == ['engine.registry']
    assert cfg.runner_type == 'SafeCheckpointRunner'
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    init_default_scope('mmdet')
    detector = MODELS.build(cfg.model)  # the whole detector builds, heads included
    backbone, neck = detector.backbone, detector.neck
    assert type(backbone).__name__ == cfg.model.backbone.type

    side = 64
    with torch.no_grad():
        feats = backbone.eval()(torch.randn(1, 3, side, side))
    assert [f.shape[1] for f in feats] == list(cfg.model.neck.in_channels)
    strides = [side // f.shape[-1] for f in feats]
    assert strides == list(cfg.model.roi_head.bbox_roi_extractor.featmap_strides)
    anchor_strides = list(cfg.model.rpn_head.anchor_generator.strides)
    assert anchor_strides == strides + [2 * strides[-1]] * (cfg.model.neck.num_outs - len(feats))
    if 'mask_roi_extractor' in cfg.model.roi_head:
        assert strides == list(cfg.model.roi_head.mask_roi_extractor.featmap_strides)
    with torch.no_grad():
        assert len(neck(feats)) == cfg.model.neck.num_outs

    # frozen_stages and norm_eval as configured, under a detector's train()
    detector.train()
    frozen = [backbone.conv1] if hasattr(backbone, 'layers') else [backbone.conv1, backbone.bn1]
    frozen += [getattr(backbone, backbone.layer_names[i])
               for i in range(cfg.model.backbone.frozen_stages)]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    last = getattr(backbone, backbone.layer_names[-1])
    assert all(p.requires_grad for p in last.parameters())
    bns = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    if cfg.model.backbone.norm_eval:
        assert not any(bn.training for bn in bns)
    else:
        assert any(bn.training for bn in bns)


@pytest.mark.parametrize('config', ['configs/detection/faster_rcnn_transfer_mbv2_fpn_1x_coco.py',
                                    'configs/detection/faster_rcnn_transfer_mnasnet_fpn_1x_coco.py'])
def test_init_cfg_loads_the_subnet_under_the_backbone_prefix(config, tmp_path):
    cfg = load(config)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    subnet = MODELS.build(cfg.model)  # stands for a detector-shaped subnet checkpoint
    path = tmp_path / 'subnet.pth'
    save_checkpoint({'state_dict': subnet.state_dict()}, str(path))
    cfg.model.backbone.init_cfg.checkpoint = str(path)
    torch.manual_seed(1)
    detector = MODELS.build(cfg.model)
    expected = {k[len('backbone.'):]: v for k, v in subnet.state_dict().items()
                if k.startswith('backbone.')}
    before = detector.backbone.state_dict()
    assert any(not torch.equal(before[k], v) for k, v in expected.items())
    detector.init_weights()
    loaded = detector.backbone.state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], v) for k, v in expected.items())
