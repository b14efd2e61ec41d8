# CUB-200 (2010): the 2011 pipelines on the 2010 release's own layout (images/ and
# lists/{train,test,classes}.txt; dataset CUB2010, registered by engine.registry).
_base_ = ['./cub2011.py']
data_root = 'data/CUB_200_2010'
train_dataloader = dict(dataset=dict(type='CUB2010', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CUB2010', data_root=data_root))
test_dataloader = val_dataloader
