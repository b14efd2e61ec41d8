# The demo super-network classifier: supernet_classifier.py with the bottleneck super-network at
# 1/8 width and a small-image stem (resnet_bottleneck_demo), for the demo's 28 px grey images
# (normalised as Fashion-MNIST, the source) in 10 classes.
_base_ = ['./supernet_classifier.py']
model = dict(
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=False),
    backbone=dict(space='resnet_bottleneck_demo'),
    head=dict(num_classes=10, in_channels=256, topk=(1, )))
