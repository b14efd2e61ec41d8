# A subnet trained alone on the class-split source, from random init: the network a user would
# otherwise start from (ResNet-50's allocation pretrained the usual way), and the stand-alone
# reference that tells how well the super-network trained its subnets. The super-network's
# recipe (configs/demo/supernet_resnet_fashion.py: LR, warm-up, 600 iterations of 64 images,
# label smoothing), so it sees as many source images as the super-network did:
#   python tools/train.py configs/demo/train_subnet_fashion_split.py \
#       --cfg-options "model.backbone.stage_blocks=(3,4,6,3)"
_base_ = ['./finetune_subnet_fashion_split.py']
load_from = None
optim_wrapper = dict(optimizer=dict(lr=0.2, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=600, eta_min=1e-3),
]
train_cfg = dict(by_epoch=False, max_iters=600, val_interval=600)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=600))
