# Transfer-ResNet41 (1, 3, 5, 4), the greedy chain's best of 13 blocks (paper 004, Table 2).
_base_ = './faster_rcnn_transfer_r50_fpn_1x_coco.py'
model = dict(backbone=dict(
    stage_blocks=(1, 3, 5, 4),
    init_cfg=dict(checkpoint='work_dirs/subnet_1-3-5-4.pth')))
