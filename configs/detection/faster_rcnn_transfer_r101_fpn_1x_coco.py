# Transfer-ResNet101 [2, 5, 19, 7] (paper 004, Table 1: 33 blocks, the size of ResNet-101).
_base_ = './faster_rcnn_transfer_r50_fpn_1x_coco.py'
model = dict(backbone=dict(
    stage_blocks=(2, 5, 19, 7),
    init_cfg=dict(checkpoint='work_dirs/subnet_2-5-19-7.pth')))
