# Fine-tuning a searched child on CUB-200-2011 with the paper's recipe (Sec. 4.2): input 448,
# 100 epochs, batch 64 on one GPU, LR 0.01 divided by 10 at epochs 30, 60 and 80. The backbone
# starts from a child checkpoint written by tools/extract_subnet.py (inherited weights).
_base_ = [
    'mmpretrain::_base_/datasets/cub_bs8_448.py', 'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['supernet'], allow_failed_imports=False)
runner_type = 'SafeCheckpointRunner'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='AllocatedResNet',
        space='resnet_bottleneck',
        stage_blocks=(3, 4, 6, 3),
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/child.pth', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=200, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))

train_dataloader = dict(batch_size=64, num_workers=8)
val_dataloader = dict(batch_size=64, num_workers=8)
test_dataloader = val_dataloader

# Weight decay: the paper does not give it for CUB; 5e-4 is mmpretrain's CUB setting.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='accuracy/top1', rule='greater'))
