# The demo's target as the search sees it: the digits' *training* images split 80/20
# (HeldOutSplit, stratified, seeded): fine-tuning on the 80%, candidates scored on the 20%. The
# CUB-layout test split stays unseen.
_base_ = ['./demo_digits_pipelines.py']
target = dict(type='CUB', data_root='data/demo/digits_cub', split='train',
              metainfo=dict(classes={{_base_.classes}}))
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='HeldOutSplit', part='train', val_fraction=0.2,
                 dataset=dict(target, pipeline={{_base_.train_pipeline}})))
val_dataloader = dict(
    batch_size=256, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='HeldOutSplit', part='val', val_fraction=0.2,
                 dataset=dict(target, pipeline={{_base_.test_pipeline}})))
