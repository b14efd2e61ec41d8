# Mask-RCNN FPN 1x on COCO instances with Transfer-ResNet50 [1, 3, 7, 5] (paper 004, Table 5): the
# allocation found for detection, fine-tuned directly on instance segmentation. mmdet's
# Mask-RCNN and COCO-instance bases; the backbone is that of faster_rcnn_transfer_r50_fpn_1x_coco.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py', 'mmdet::_base_/datasets/coco_instance.py',
    '../_base_/detection_finetune.py'
]
model = dict(
    backbone=dict(
        _delete_=True,  # mmdet's entry is `ResNet, depth=50`; the allocation replaces the depth
        type='AllocatedResNet',
        space='resnet_bottleneck',
        stage_blocks=(1, 3, 7, 5),
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/child_1-3-7-5.pth',
                      prefix='backbone.')))
