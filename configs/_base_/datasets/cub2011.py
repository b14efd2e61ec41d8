# CUB-200-2011 at 448 px (mmpretrain's dataset and pipelines), batch 64 on one GPU (Sun et al.,
# Sec. 4.2). Set the root with --data-root.
_base_ = ['mmpretrain::_base_/datasets/cub_bs8_448.py']
# Workers kept between epochs and batches in pinned memory: the GPU waits less for data.
train_dataloader = dict(batch_size=64, num_workers=8, pin_memory=True, persistent_workers=True)
val_dataloader = dict(batch_size=64, num_workers=8, pin_memory=True, persistent_workers=True)
test_dataloader = val_dataloader
test_cfg = dict()
