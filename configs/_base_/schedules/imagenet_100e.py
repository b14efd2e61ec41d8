# Super-network training on ImageNet (Sun et al., Sec. 4.1): 100 epochs, SGD momentum 0.9, weight
# decay 1e-4, 5 warm-up epochs, LR x0.1 at epochs 30/60/80. The paper trains with batch 2048 on 32
# GPUs and states a base LR of 0.01, 80x below the linear-scaling rule's 0.1 per 256 images that
# torchvision and mmpretrain use for ResNets; we take 0.8 at batch 2048. auto_scale_lr rescales
# it to the batch actually run (8 GPUs x 64 = 512 -> 0.2).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.8, momentum=0.9, weight_decay=1e-4, nesterov=False))
auto_scale_lr = dict(base_batch_size=2048)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
