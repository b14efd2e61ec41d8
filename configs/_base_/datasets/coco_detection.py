# COCO 2017 boxes as mmdet's base (data/coco/, --data-root elsewhere), its loaders' batches in
# pinned memory: the GPUs wait less for data. mmdet keeps the workers between epochs already.
_base_ = ['mmdet::_base_/datasets/coco_detection.py']
train_dataloader = dict(pin_memory=True, persistent_workers=True)
val_dataloader = dict(pin_memory=True, persistent_workers=True)
test_dataloader = val_dataloader
