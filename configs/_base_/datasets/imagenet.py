# ImageNet, or any subset of its classes, under --data-root in either of mmpretrain's layouts:
#   lists:   meta/train.txt and meta/val.txt ("<path under train/ or val/> <label>" per line),
#            images under train/ and val/ (the layout for ImageNet's flat val/ folder);
#   folders: train/<wnid>/*.JPEG and val/<wnid>/*.JPEG (labels in sorted folder order).
# ImageNetSubset (engine.registry) reads the lists when meta/<split>.txt exists, else the folders;
# to force one: --cfg-options {train,val,test}_dataloader.dataset.layout=folders (or lists).
# Not mmpretrain's ImageNet: with folders it asserts all 1,000 classes. It takes the base's
# data_root, split and pipeline, so only the type changes.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64.py']
data_root = 'data/imagenet'
# Workers kept between epochs and batches in pinned memory: the GPUs wait less for data.
train_dataloader = dict(batch_size=64, num_workers=8, pin_memory=True, persistent_workers=True,
                        dataset=dict(type='ImageNetSubset', data_root=data_root))
val_dataloader = dict(batch_size=64, num_workers=8, pin_memory=True, persistent_workers=True,
                      dataset=dict(type='ImageNetSubset', data_root=data_root))
test_dataloader = val_dataloader
test_cfg = dict()
