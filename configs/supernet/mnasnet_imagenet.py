# MnasNet-B0 super-network: 5 searched stages, max depths [5, 6, 8, 7, 7].
_base_ = './resnet_bottleneck_imagenet.py'
model = dict(backbone=dict(type='MnasNetSuperNet', space='mnasnet', out_indices=(7, )),
             head=dict(in_channels=1280))
