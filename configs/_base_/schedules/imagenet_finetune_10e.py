# Fine-tuning a subnet on ImageNet after it inherited its weights from the super-network (Sun et
# al., Sec. 3.4; the paper gives no schedule). The weights have had the super-network's 100
# epochs already, shared by every sampled depth; this step settles them on one path, so it takes
# a tenth of that: 10 epochs, from a tenth of the super-network's LR (0.08 at a total batch of
# 2,048), no warm-up, cosine decay to zero, the same weight decay. auto_scale_lr rescales the LR
# to the batch actually run (8 GPUs x 64 = 512 -> 0.02).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.08, momentum=0.9, weight_decay=1e-4, nesterov=False))
auto_scale_lr = dict(base_batch_size=2048)
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=10, eta_min=0,
                        convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
