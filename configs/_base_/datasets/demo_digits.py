# The demo's target: scikit-learn's digits (upsampled to 28 px) in the CUB-200-2011 layout,
# written by tools/prepare_demo_data.py; its train split trains, its test split tests.
classes = ('digit-0', 'digit-1', 'digit-2', 'digit-3', 'digit-4', 'digit-5', 'digit-6',
           'digit-7', 'digit-8', 'digit-9')
data_root = 'data/demo/digits_cub'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CUB', data_root=data_root, split='train', metainfo=dict(classes=classes),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CUB', data_root=data_root, split='test', metainfo=dict(classes=classes),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
test_cfg = dict()
