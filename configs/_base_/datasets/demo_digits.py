# The demo's target: the digits (demo_digits_pipelines.py) in the CUB-200-2011 layout, written by
# tools/prepare_demo_data.py; its train split trains, its test split tests.
_base_ = ['./demo_digits_pipelines.py']
data_root = 'data/demo/digits_cub'
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CUB', data_root=data_root, split='train',
                 metainfo=dict(classes={{_base_.classes}}), pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=256, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CUB', data_root=data_root, split='test',
                 metainfo=dict(classes={{_base_.classes}}), pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
test_evaluator = {{_base_.val_evaluator}}
test_cfg = dict()
