# "Transfer-R50" is the paper's name for its searched backbone, here a subnet like any other:
# [1, 3, 7, 5], the allocation found for detection, in Mask-RCNN FPN 1x fine-tuned directly on
# COCO instances (Sun et al., Table 5).
_base_ = [
    '../_base_/models/mask_rcnn_subnet_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/coco_1x.py', '../_base_/runtime_detection.py'
]
model = dict(backbone=dict(stage_blocks=(1, 3, 7, 5),
                           init_cfg=dict(checkpoint='work_dirs/subnet_1-3-7-5.pth')))
