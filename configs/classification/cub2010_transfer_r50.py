# Transfer-ResNet50 [1, 6, 6, 3] on CUB-200 (2010; Table 4) with the 2011 recipe. The 2010
# release keeps its splits in lists/train.txt and lists/test.txt (dataset CUB2010).
_base_ = '../_base_/cub_finetune.py'

model = dict(backbone=dict(
    stage_blocks=(1, 6, 6, 3),
    init_cfg=dict(checkpoint='work_dirs/child_1-6-6-3.pth')))
train_dataloader = dict(dataset=dict(type='CUB2010', data_root='data/CUB_200_2010'))
val_dataloader = dict(dataset=dict(type='CUB2010', data_root='data/CUB_200_2010'))
test_dataloader = val_dataloader
