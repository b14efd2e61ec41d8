# Baseline on CUB-200-2011: ResNet-50 [3, 4, 6, 3] cut from the same super-network
# (python tools/extract_subnet.py SUPERNET --allocation 3,4,6,3 --out work_dirs/subnet_3-4-6-3.pth).
_base_ = [
    '../_base_/models/subnet_classifier.py', '../_base_/datasets/cub2011.py',
    '../_base_/schedules/cub_100e.py', '../_base_/runtime_classification.py'
]
model = dict(backbone=dict(init_cfg=dict(checkpoint='work_dirs/subnet_3-4-6-3.pth')))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='accuracy/top1', rule='greater'))
