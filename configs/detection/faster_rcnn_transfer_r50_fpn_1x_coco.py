# "Transfer-R50" is the paper's name for its searched backbone, here a subnet like any other:
# [1, 3, 7, 5] in Faster-RCNN FPN 1x on COCO (Sun et al., Table 1), cut out of the ImageNet
# super-network by tools/extract_subnet.py with the weights it inherits.
_base_ = [
    '../_base_/models/faster_rcnn_subnet_fpn.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/coco_1x.py', '../_base_/runtime_detection.py'
]
model = dict(backbone=dict(stage_blocks=(1, 3, 7, 5),
                           init_cfg=dict(checkpoint='work_dirs/subnet_1-3-7-5.pth')))
