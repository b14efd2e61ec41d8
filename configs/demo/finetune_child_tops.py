# Class-split target: fine-tune a child of the class-split super-network on the tops' 'train'
# part (30 images per class; supernet.datasets.prepare_tops_target) and test it on their 'test'
# part. Set the child with
#   --cfg-options model.backbone.stage_blocks=(1,3,7,5) \
#                 model.backbone.init_cfg.checkpoint=work_dirs/.../child_1-3-7-5.pth
_base_ = [
    '../_base_/models/child_classifier.py', '../_base_/datasets/demo_tops.py',
    '../_base_/runtime_classification.py'
]
model = dict(
    data_preprocessor=dict(num_classes=5, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=False),
    backbone=dict(space='resnet_bottleneck_demo', stage_blocks=(1, 3, 7, 5),
                  init_cfg=dict(checkpoint='work_dirs/demo_child.pth')),
    head=dict(num_classes=5, in_channels=256))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6, 9], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=5)
default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
randomness = dict(seed=0)
