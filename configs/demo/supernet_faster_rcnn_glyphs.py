# Demo detection search: the demo super-network (resnet_bottleneck_demo, max depths
# [8, 10, 36, 14]) inside the demo Faster-RCNN on the glyph set. Fine-tuning samples a depth per
# stage every iteration (DepthSamplingHook); search.detection.DetectionEvaluator then scores each
# candidate by bbox mAP on the first 50 validation images, after re-estimating the statistics of
# the BatchNorms that training updates (norm_eval=False here) on 10 training batches.
_base_ = './faster_rcnn_child_glyphs.py'

model = dict(
    backbone=dict(
        _delete_=True,  # the super-network has no stage_blocks: it holds every allocation
        type='ResNetSuperNet',
        space='resnet_bottleneck_demo',
        out_indices=(1, 2, 3),
        frozen_stages=1,
        norm_eval=False,
        init_cfg=dict(type='Pretrained',
                      checkpoint='work_dirs/supernet_resnet_fashion/iter_600.pth',
                      prefix='backbone.')))
custom_hooks = [dict(type='DepthSamplingHook')]  # validation: the deepest child
# Blocks past the sampled depth get no gradient in that iteration; DDP must expect that.
find_unused_parameters = True

# A subset: CocoMetric takes its ground truth from the scored images (ann_file=None, 'instances'
# in the meta keys), not from the whole annotation file.
val_dataloader = dict(
    dataset=dict(
        indices=50,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(128, 128), keep_ratio=True),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs',
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                            'instances'))
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=None)
test_evaluator = val_evaluator

search_cfg = dict(finetune_epochs=8,
                  evaluator=dict(type='detection', num_recal_batches=10, recalibrate='auto'))
