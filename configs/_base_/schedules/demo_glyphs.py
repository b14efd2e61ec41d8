# The demo detection schedule on CPU: 400 images / 8 = 50 iterations per epoch, 8 epochs, LR 0.02
# after a 50-iteration warm-up, x0.1 after epoch 6.
_base_ = ['mmdet::_base_/schedules/schedule_1x.py']
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=8, milestones=[6], gamma=0.1),
]
train_cfg = dict(max_epochs=8, val_interval=4)
# The LR is tuned for this CPU schedule, not for a reference batch: drop mmdet's base_batch_size
# (16), which tools/train*.py would now scale to by default (the classification demos have none).
auto_scale_lr = None
