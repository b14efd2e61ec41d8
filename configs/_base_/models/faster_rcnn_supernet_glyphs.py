# The demo detector (faster_rcnn_bottleneck_glyphs.py, which explains its strides and widths) with
# the demo super-network as backbone: the model of the demo detection search.
_base_ = ['./faster_rcnn_bottleneck_glyphs.py', '../supernet_training.py']
model = dict(backbone=dict(type='ResNetSuperNet',
                           init_cfg=dict(checkpoint='work_dirs/resnet_supernet/epoch_100.pth')))
