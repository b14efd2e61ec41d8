# mmdet's Faster-RCNN FPN with a network of the ResNet bottleneck space in place of mmdet's
# `ResNet, depth=50`: faster_rcnn_subnet_fpn.py and faster_rcnn_supernet_fpn.py say which network
# (its type) and its checkpoint. Outputs at strides 4, 8, 16, 32 -> FPN in_channels 256..2048, as
# mmdet's R-50.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
model = dict(
    backbone=dict(
        _delete_=True,  # none of mmdet's ResNet arguments but the ones below
        space='resnet_bottleneck',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', prefix='backbone.')))
