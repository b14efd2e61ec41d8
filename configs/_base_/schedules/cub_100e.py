# Fine-tuning on CUB-200 (Sun et al., Sec. 4.2): 100 epochs, batch 64 on one GPU, LR 0.01 divided
# by 10 at epochs 30, 60 and 80. Weight decay: the paper does not give it for CUB; 5e-4 is
# mmpretrain's CUB setting.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
auto_scale_lr = dict(base_batch_size=64)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
