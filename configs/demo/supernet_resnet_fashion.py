# Demo: the paper's bottleneck super-network ([8, 10, 36, 14]) at 1/8 width with a small-image
# stem, trained on Fashion-MNIST (the source; ImageNet layout written by
# tools/prepare_demo_data.py) for a few minutes on CPU.
_base_ = ['../_base_/supernet_runtime.py']

model = dict(
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=False),
    backbone=dict(type='ResNetSuperNet', space='resnet_bottleneck_demo'),
    head=dict(num_classes=10, in_channels=256, topk=(1, )))

data_root = 'data/demo/fashion_mnist'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val',
                 pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))

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
