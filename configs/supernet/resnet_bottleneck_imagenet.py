# ResNet bottleneck super-network, max depths [8, 10, 36, 14] (about ResNet-200's FLOPs), trained
# on ImageNet with the paper's recipe (Sun et al., Sec. 4.1).
_base_ = [
    '../_base_/models/supernet_classifier.py', '../_base_/datasets/imagenet.py',
    '../_base_/schedules/imagenet_100e.py', '../_base_/runtime_classification.py'
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='max/accuracy/top1', rule='greater'))
