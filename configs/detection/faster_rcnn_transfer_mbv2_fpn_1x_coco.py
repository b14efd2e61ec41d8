# Transfer-MobileNetV2 [2, 2, 2, 3, 5] (paper 004, Table 1; searched with FLOPs-re-weighted block
# counts). Outputs of layer2, layer3, layer5 and layer7: strides 4, 8, 16, 32, as FPN expects.
_base_ = './faster_rcnn_transfer_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,  # a MobileNetV2 takes none of the ResNet arguments above
        type='AllocatedMobileNetV2',
        space='mobilenet_v2',
        stage_blocks=(2, 2, 2, 3, 5),
        out_indices=(1, 2, 4, 6),
        frozen_stages=1,  # the stem and the fixed first layer
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/subnet_2-2-2-3-5.pth',
                      prefix='backbone.')),
    neck=dict(in_channels=[24, 32, 96, 320]))
