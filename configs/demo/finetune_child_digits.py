# Demo target: fine-tune a child of the demo super-network on the digits written in the
# CUB-200-2011 layout (tools/prepare_demo_data.py). Set the child with
#   --cfg-options model.backbone.stage_blocks=(1,3,7,5) \
#                 model.backbone.init_cfg.checkpoint=work_dirs/.../child_1-3-7-5.pth
_base_ = '../_base_/cub_finetune.py'

classes = ('digit-0', 'digit-1', 'digit-2', 'digit-3', 'digit-4', 'digit-5', 'digit-6',
           'digit-7', 'digit-8', 'digit-9')
data_root = 'data/demo/digits_cub'
model = dict(
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=False),
    backbone=dict(space='resnet_bottleneck_demo', stage_blocks=(1, 3, 7, 5),
                  init_cfg=dict(checkpoint='work_dirs/demo_child.pth')),
    head=dict(num_classes=10, in_channels=256))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6, 9], gamma=0.1)]
train_cfg = dict(max_epochs=10, val_interval=5)
default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
randomness = dict(seed=0)
