# Weight search, step 1 (paper 004, Sec. 3.4): fine-tune an extracted child on the source before
# the target. The child checkpoint keeps the classifier's keys, so it loads whole:
#   python tools/extract_subnet.py work_dirs/supernet_resnet_fashion/iter_600.pth \
#       --allocation 1,4,5,2 --out work_dirs/demo_child.pth
#   python tools/train.py configs/demo/finetune_child_fashion.py \
#       --cfg-options "model.backbone.stage_blocks=(1,4,5,2)"
# then start the target fine-tuning from it (configs/demo/finetune_child_digits.py with
# model.backbone.init_cfg.checkpoint=work_dirs/finetune_child_fashion/iter_200.pth).
_base_ = './supernet_resnet_fashion.py'

model = dict(backbone=dict(_delete_=True, type='AllocatedResNet', space='resnet_bottleneck_demo',
                           stage_blocks=(1, 4, 5, 2), out_indices=(3, )))
load_from = 'work_dirs/demo_child.pth'
custom_hooks = []  # a static child: no depth sampling
val_cfg = dict(_delete_=True)  # plain validation instead of the per-allocation loop
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=200, eta_min=0)]
train_cfg = dict(max_iters=200, val_interval=200)
default_hooks = dict(checkpoint=dict(interval=200))
