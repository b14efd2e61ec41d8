# Faster-RCNN FPN 1x on COCO with Transfer-ResNet50 [1, 3, 7, 5] (paper 004, Table 1): mmdet's
# Faster-RCNN and COCO bases; only the backbone differs, and it starts from the child cut out of
# the ImageNet super-network by tools/extract_subnet.py (weight inheritance).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/detection_finetune.py'
]
model = dict(
    backbone=dict(
        _delete_=True,  # mmdet's entry is `ResNet, depth=50`; the allocation replaces the depth
        type='AllocatedResNet',
        space='resnet_bottleneck',
        stage_blocks=(1, 3, 7, 5),
        out_indices=(0, 1, 2, 3),  # strides 4, 8, 16, 32 -> FPN in_channels 256..2048
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/child_1-3-7-5.pth',
                      prefix='backbone.')))
