# Transfer-MnasNet-b0 [3, 3, 2, 3, 4] (paper 004, Table 1): the MobileNetV2 layout with MnasNet's
# stages (3x3/5x5 kernels, ReLU); the same four outputs at strides 4, 8, 16, 32.
_base_ = './faster_rcnn_transfer_mbv2_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        type='AllocatedMnasNet',
        space='mnasnet',
        stage_blocks=(3, 3, 2, 3, 4),
        init_cfg=dict(checkpoint='work_dirs/subnet_3-3-2-3-4.pth')),
    neck=dict(in_channels=[24, 40, 96, 320]))
