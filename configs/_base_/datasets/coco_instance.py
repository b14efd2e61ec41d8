# COCO 2017 boxes and masks as mmdet's base (data/coco/, --data-root elsewhere), the loaders'
# batches in pinned memory: the GPUs wait less for data. mmdet keeps workers between epochs.
_base_ = ['mmdet::_base_/datasets/coco_instance.py']
train_dataloader = dict(pin_memory=True, persistent_workers=True)
val_dataloader = dict(pin_memory=True, persistent_workers=True)
test_dataloader = val_dataloader
