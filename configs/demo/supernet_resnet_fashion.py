# Demo: the paper's bottleneck super-network ([8, 10, 36, 14]) at 1/8 width with a small-image
# stem, trained on Fashion-MNIST (the source; tools/prepare_demo_data.py) for a few minutes on CPU.
_base_ = [
    '../_base_/models/demo_supernet_classifier.py', '../_base_/datasets/demo_fashion_mnist.py',
    '../_base_/runtime_classification.py'
]
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=600, eta_min=1e-3),
]
train_cfg = dict(by_epoch=False, max_iters=600, val_interval=300)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100, max_keep_ckpts=2))
randomness = dict(seed=0)
log_processor = dict(by_epoch=False)
