# A demo search, on the classification runtime: the super-network fine-tuned on the target with
# depth sampling for 8 epochs (search_cfg.finetune_epochs sets train_cfg.max_epochs), then
# greedy-searched up to 16 blocks, candidates scored by their held-out mean log-likelihood of the
# true class (metric='loss'), which is continuous where top-1 ties (docs/search.md#search_cfg).
_base_ = ['./runtime_classification.py']
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=8, eta_min=1e-3)]
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=8)
default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)
search_cfg = dict(
    finetune_epochs=8,
    budget=dict(kind='blocks', limit=16),
    evaluator=dict(type='classification', num_recal_batches=8, metric='loss'))
