# Class-split target search: the class-split source super-network
# (configs/demo/supernet_resnet_fashion_split.py) fine-tuned with depth sampling on the tops'
# 'train' part (30 images per class), then searched up to 16 blocks; candidates are scored on
# the 'search' part (2,000 images). The 'rescore' and 'test' parts stay unseen by the search.
_base_ = [
    '../_base_/models/demo_supernet_classifier.py', '../_base_/datasets/demo_tops_search.py',
    '../_base_/demo_search.py'
]
model = dict(data_preprocessor=dict(num_classes=5), head=dict(num_classes=5))
# 150 images are 3 iterations an epoch: 40 epochs give the super-network about as many steps on
# the target as the digits' 8 epochs of 16.
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=40, eta_min=1e-3)]
train_cfg = dict(max_epochs=40, val_interval=40)
# BatchNorm recalibration takes the 2 full batches of 64 among the 150 training images.
search_cfg = dict(finetune_epochs=40, evaluator=dict(num_recal_batches=2))
