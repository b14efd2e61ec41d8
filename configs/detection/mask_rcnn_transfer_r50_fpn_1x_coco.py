# Mask-RCNN FPN 1x on COCO instances with Transfer-ResNet50 [1, 3, 7, 5] (Sun et al., Table 5):
# the allocation found for detection, fine-tuned directly on instance segmentation.
_base_ = [
    '../_base_/models/mask_rcnn_child_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/coco_1x.py', '../_base_/runtime_detection.py'
]
model = dict(backbone=dict(stage_blocks=(1, 3, 7, 5),
                           init_cfg=dict(checkpoint='work_dirs/child_1-3-7-5.pth')))
