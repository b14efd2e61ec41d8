# Faster-RCNN FPN 1x on COCO with Transfer-ResNet50 [1, 3, 7, 5] (Sun et al., Table 1), its
# backbone cut out of the ImageNet super-network by tools/extract_subnet.py (weight inheritance).
_base_ = [
    '../_base_/models/faster_rcnn_child_fpn.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/coco_1x.py', '../_base_/runtime_detection.py'
]
model = dict(backbone=dict(stage_blocks=(1, 3, 7, 5),
                           init_cfg=dict(checkpoint='work_dirs/child_1-3-7-5.pth')))
