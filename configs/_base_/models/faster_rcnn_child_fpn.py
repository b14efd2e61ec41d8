# mmdet's Faster-RCNN FPN with a searched child as backbone: mmdet's `ResNet, depth=50` entry is
# replaced by AllocatedResNet (any allocation of the bottleneck space; leaf configs set
# stage_blocks and the child checkpoint from tools/extract_subnet.py). Outputs at strides 4, 8,
# 16, 32 -> FPN in_channels 256..2048, as mmdet's R-50.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='AllocatedResNet',
        space='resnet_bottleneck',
        stage_blocks=(3, 4, 6, 3),
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/child.pth', prefix='backbone.')))
