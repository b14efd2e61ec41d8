# The demo's target as the search sees it: the digits' *training* images split 80/20
# (HeldOutSplit, stratified, seeded): fine-tuning on the 80%, candidates scored on the 20%. The
# CUB-layout test split stays unseen.
classes = ('digit-0', 'digit-1', 'digit-2', 'digit-3', 'digit-4', 'digit-5', 'digit-6',
           'digit-7', 'digit-8', 'digit-9')
target = dict(type='CUB', data_root='data/demo/digits_cub', split='train',
              metainfo=dict(classes=classes))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='HeldOutSplit', part='train', val_fraction=0.2,
                 dataset=dict(target, pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=256, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='HeldOutSplit', part='val', val_fraction=0.2,
                 dataset=dict(target, pipeline=test_pipeline)))
val_evaluator = dict(type='Accuracy', topk=(1, ))
