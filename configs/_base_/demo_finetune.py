# Fine-tuning a demo subnet on a small target, on the classification runtime: 10 epochs, SGD from
# LR 0.05, x0.1 after epochs 6 and 9, seeded.
_base_ = ['./runtime_classification.py']
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6, 9], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=5)
default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
randomness = dict(seed=0)
