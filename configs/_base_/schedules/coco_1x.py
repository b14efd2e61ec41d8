# Fine-tuning a searched detector on COCO (Sun et al., Sec. 4.1): SGD, base LR 0.04 at a total
# batch of 64, weight decay 1e-4, on mmdet's 1x schedule (12 epochs, LR x0.1 after epochs 8 and
# 11, 500 warm-up iterations). auto_scale_lr rescales the LR linearly to the batch actually run
# (8 GPUs x 2 images: 0.01).
_base_ = ['mmdet::_base_/schedules/schedule_1x.py']
optim_wrapper = dict(optimizer=dict(lr=0.04, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=64)
