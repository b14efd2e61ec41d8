# Transfer-ResNet37 (1, 3, 4, 4), the greedy chain's best of 12 blocks (paper 004, Table 2).
# (The paper's name: 12 bottlenecks plus stem and classifier make 38 layers.)
_base_ = './faster_rcnn_transfer_r50_fpn_1x_coco.py'
model = dict(backbone=dict(
    stage_blocks=(1, 3, 4, 4),
    init_cfg=dict(checkpoint='work_dirs/subnet_1-3-4-4.pth')))
