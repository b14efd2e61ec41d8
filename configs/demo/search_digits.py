# Demo target search: the demo super-network (trained on Fashion-MNIST) fine-tuned with depth
# sampling on 80% of the digits' training split, then greedy-searched up to 16 blocks; candidates
# are scored on the other 20% (the CUB-layout test split stays unseen), by their mean
# log-likelihood of the true class (metric='loss'), the score the report searches with
# (configs/demo/search_tops.py says why): fine-tuned children reach near-equal top-1 on the
# digits, and top-1's exact ties would decide the chain by the order of candidates.
_base_ = [
    '../_base_/models/supernet_classifier.py', '../_base_/datasets/demo_digits_search.py',
    '../_base_/runtime_classification.py'
]
model = dict(
    data_preprocessor=dict(num_classes=10, mean=[72.9] * 3, std=[90.0] * 3, to_rgb=False),
    backbone=dict(space='resnet_bottleneck_demo'),
    head=dict(num_classes=10, in_channels=256, topk=(1, )))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=8, eta_min=1e-3)]
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=8)  # search_cfg.finetune_epochs sets it
default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)

search_cfg = dict(
    finetune_epochs=8,
    budget=dict(kind='blocks', limit=16),
    evaluator=dict(type='classification', num_recal_batches=8, metric='loss'))
