# ImageNet in mmpretrain's layout: data_root/meta/{train,val}.txt with train/ and val/ (any subset
# of classes), or the folder layout data_root/train/<wnid>/*.JPEG (mmpretrain's ImageNet then
# requires all 1,000 class folders). Set the root with --data-root.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64.py']
data_root = 'data/imagenet'
train_dataloader = dict(batch_size=64, num_workers=8, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=64, num_workers=8, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
test_cfg = dict()
