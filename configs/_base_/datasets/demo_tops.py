# The class-split target: Fashion-MNIST's five tops (t-shirt, pullover, dress, coat, shirt) in the
# CUB-200-2011 layout, written by archdata.prepare_tops_target, with 30 labelled images
# per class (CUB has ~30). parts.txt cuts CUB's train split into 'train' (fine-tuning), 'search'
# (scores search candidates) and 'rescore' (re-judges a search's pick); 'test' is CUB's test
# split, for final numbers only. Subnet fine-tuning trains on 'train' and tests on 'test'.
classes = ('t-shirt', 'pullover', 'dress', 'coat', 'shirt')
data_root = 'data/demo/tops_cub'
target = dict(type='CUBPart', data_root=data_root, metainfo=dict(classes=classes))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),  # as the source's
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(target, part='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(target, part='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
test_cfg = dict()
