# The demo detector (faster_rcnn_bottleneck_glyphs.py, which explains its strides and widths) with
# a subnet of the demo super-network as backbone; leaf configs set stage_blocks and its checkpoint.
_base_ = ['./faster_rcnn_bottleneck_glyphs.py']
model = dict(backbone=dict(type='AllocatedResNet', stage_blocks=(3, 4, 6, 3),
                           init_cfg=dict(checkpoint='work_dirs/subnet.pth')))
