# The ResNet super-network [8, 10, 36, 14] inside Faster-RCNN FPN on COCO: the model of the
# detection search (paper 004, Sec. 3.3). Fine-tuning draws a depth per stage every iteration
# (DepthSamplingHook, the same on every rank); then search.detection.DetectionEvaluator scores
# each candidate by its COCO bbox mAP on a validation subset. The backbone starts from the
# ImageNet super-network checkpoint (tools/train_supernet.py; tools/greedy_search.py sets it).
_base_ = './faster_rcnn_transfer_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,  # the super-network has no stage_blocks: it holds every allocation
        type='ResNetSuperNet',
        space='resnet_bottleneck',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # BN statistics stay those of ImageNet, so the search recalibrates none
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/resnet_supernet/epoch_100.pth',
                      prefix='backbone.')))
custom_hooks = [dict(type='DepthSamplingHook')]  # validation: the deepest child
# Blocks past the sampled depth get no gradient in that iteration; DDP must expect that.
find_unused_parameters = True

# Candidates are scored on the first 500 images of val2017 (Eq. 6 of the paper maximises the
# target validation score). On a subset, CocoMetric must take its ground truth from the scored
# images (ann_file=None, 'instances' in the meta keys), not from the whole annotation file.
val_dataloader = dict(
    dataset=dict(
        indices=500,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(1333, 800), keep_ratio=True),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs',
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                            'instances'))
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=None)
test_evaluator = val_evaluator

# For tools/greedy_search.py (search.pipeline): fine-tune for the 1x schedule (the paper does not
# give the super-network's COCO schedule), then score candidates with DetectionEvaluator. That
# tool has no --auto-scale-lr, so the LR (0.04 at batch 64) is scaled here: 8 GPUs x 2 -> 0.01.
auto_scale_lr = dict(enable=True)
search_cfg = dict(finetune_epochs=12,
                  evaluator=dict(type='detection', num_recal_batches=20, recalibrate='auto'))
