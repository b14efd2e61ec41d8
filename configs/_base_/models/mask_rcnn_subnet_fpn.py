# mmdet's Mask-RCNN FPN with a searched subnet as backbone (as faster_rcnn_subnet_fpn.py).
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']
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
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/subnet.pth', prefix='backbone.')))
