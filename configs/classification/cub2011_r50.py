# Baseline: ResNet-50 [3, 4, 6, 3] cut from the same super-network.
_base_ = '../_base_/cub_finetune.py'

model = dict(backbone=dict(init_cfg=dict(checkpoint='work_dirs/child_3-4-6-3.pth')))
