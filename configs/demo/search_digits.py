# Demo target search: the demo super-network (trained on Fashion-MNIST) fine-tuned with depth
# sampling on the digits' training split, then greedy-searched; candidates are scored on a 20%
# held-out part of the digits' *training* images (the CUB-layout test split stays unseen).
_base_ = ['../_base_/supernet_runtime.py']

classes = ('digit-0', 'digit-1', 'digit-2', 'digit-3', 'digit-4', 'digit-5', 'digit-6',
           'digit-7', 'digit-8', 'digit-9')
target = dict(type='CUB', data_root='data/demo/digits_cub', split='train',
              metainfo=dict(classes=classes))
model = dict(
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=False),
    backbone=dict(type='ResNetSuperNet', space='resnet_bottleneck_demo'),
    head=dict(num_classes=10, in_channels=256, topk=(1, )))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='HeldOutSplit', part='train', val_fraction=0.2,
                 dataset=dict(target, pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=256, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='HeldOutSplit', part='val', val_fraction=0.2,
                 dataset=dict(target, pipeline=test_pipeline)))
val_evaluator = dict(type='Accuracy', topk=(1, ))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=8, eta_min=1e-3)]
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=8)  # search_cfg.finetune_epochs sets it
default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)

search_cfg = dict(
    finetune_epochs=8,
    evaluator=dict(type='classification', num_recal_batches=8, metric='accuracy'))
