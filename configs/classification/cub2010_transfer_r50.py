# "Transfer-R50" is the paper's name for its searched backbone, here a subnet like any other:
# [1, 6, 6, 3] on CUB-200 (2010; Sun et al., Table 4) with the 2011 recipe.
_base_ = [
    '../_base_/models/subnet_classifier.py', '../_base_/datasets/cub2010.py',
    '../_base_/schedules/cub_100e.py', '../_base_/runtime_classification.py'
]
model = dict(backbone=dict(stage_blocks=(1, 6, 6, 3),
                           init_cfg=dict(checkpoint='work_dirs/subnet_1-6-6-3.pth')))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='accuracy/top1', rule='greater'))
