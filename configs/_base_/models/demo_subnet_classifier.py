# The demo subnet classifier: subnet_classifier.py with a subnet of the demo super-network
# (resnet_bottleneck_demo) for the demo's 28 px grey images (normalised as Fashion-MNIST, the
# source) in 10 classes. Set the subnet with
#   --cfg-options model.backbone.stage_blocks=(1,3,7,5) \
#                 model.backbone.init_cfg.checkpoint=work_dirs/.../subnet_1-3-7-5.pth
_base_ = ['./subnet_classifier.py']
model = dict(
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=False),
    backbone=dict(space='resnet_bottleneck_demo', stage_blocks=(1, 3, 7, 5),
                  init_cfg=dict(checkpoint='work_dirs/demo_subnet.pth')),
    head=dict(num_classes=10, in_channels=256))
