# Weight search, step 1 (Sun et al., Sec. 3.4): the searched subnet, with the weights it inherits
# from the super-network, fine-tuned on the source (Fashion-MNIST) before the target. The subnet
# checkpoint keeps the classifier's keys (head included), so it loads whole with load_from:
#   python tools/extract_subnet.py work_dirs/supernet_resnet_fashion/iter_600.pth \
#       --allocation 1,4,5,2 --out work_dirs/demo_subnet.pth
#   python tools/train.py configs/demo/finetune_subnet_fashion.py \
#       --load-from work_dirs/demo_subnet.pth --cfg-options "model.backbone.stage_blocks=(1,4,5,2)"
# then start the target fine-tuning from it (configs/demo/finetune_subnet_digits.py with
# model.backbone.init_cfg.checkpoint=work_dirs/finetune_subnet_fashion/iter_200.pth).
# The paper gives no schedule. The weights are already trained on this source, shared by every
# depth the super-network sampled; the step only has to settle them (and BatchNorm's statistics)
# on one path. So: a third of the super-network's 600 iterations, at a tenth of its peak LR and
# without warm-up, decaying to zero; the same batch, augmentation and label smoothing.
_base_ = [
    '../_base_/models/demo_subnet_classifier.py', '../_base_/datasets/demo_fashion_mnist.py',
    '../_base_/runtime_classification.py'
]
model = dict(
    backbone=dict(stage_blocks=(1, 4, 5, 2), init_cfg=None),
    head=dict(loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
load_from = 'work_dirs/demo_subnet.pth'
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=200, eta_min=0)]
train_cfg = dict(by_epoch=False, max_iters=200, val_interval=200)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=200))
randomness = dict(seed=0)
log_processor = dict(by_epoch=False)
