# ResNet bottleneck super-network, max depths [8, 10, 36, 14] (about ResNet-200's FLOPs).
_base_ = '../_base_/supernet_imagenet.py'

model = dict(backbone=dict(type='ResNetSuperNet', space='resnet_bottleneck'),
             head=dict(in_channels=2048))
