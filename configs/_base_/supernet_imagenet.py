# Super-network training on ImageNet (mmpretrain's layout: data_root/train/<wnid>/*.JPEG, or
# meta/train.txt) with the paper's recipe (Sec. 4.1): 100 epochs, SGD momentum 0.9, weight decay
# 1e-4, label smoothing 0.1 (supernet_runtime.py), 5 warm-up epochs, LR x0.1 at epochs 30/60/80.
_base_ = ['./supernet_runtime.py', 'mmpretrain::_base_/datasets/imagenet_bs64.py']

data_root = 'data/imagenet'  # or: tools/train_supernet.py CONFIG --data-root /path/to/imagenet
train_dataloader = dict(batch_size=64, num_workers=8, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=64, num_workers=8, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
test_cfg = dict()

# The paper trains with batch 2048 on 32 GPUs and states a base LR of 0.01. At batch 2048 that is
# 80x below the linear-scaling rule's 0.1 per 256 images, which torchvision and mmpretrain use for
# ResNets; we take 0.8 at batch 2048. auto_scale_lr rescales it to the batch you run
# (8 GPUs x 64 = 512 -> 0.2) when you pass --auto-scale-lr.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.8, momentum=0.9, weight_decay=1e-4, nesterov=False))
auto_scale_lr = dict(base_batch_size=2048)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='max/accuracy/top1', rule='greater'))
