# Demo detection search: the demo super-network (resnet_bottleneck_demo, max depths
# [8, 10, 36, 14]) inside the demo Faster-RCNN on the glyph set. Fine-tuning samples a depth per
# stage every iteration (DepthSamplingHook); engine.detection.DetectionEvaluator then scores each
# candidate by bbox mAP on the first 50 validation images, after re-estimating the statistics of
# the BatchNorms that training updates (norm_eval=False here) on 10 training batches.
_base_ = [
    '../_base_/models/faster_rcnn_supernet_glyphs.py', '../_base_/datasets/demo_coco_glyphs.py',
    '../_base_/schedules/demo_glyphs.py', '../_base_/runtime_detection.py'
]
model = dict(backbone=dict(
    init_cfg=dict(checkpoint='work_dirs/supernet_resnet_fashion/iter_600.pth')))
# ann_file=None, 'instances' in the meta keys: CocoMetric scores the subset against its own boxes.
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
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=1))
log_processor = dict(window_size=10)
randomness = dict(seed=0)

search_cfg = dict(finetune_epochs=8, budget=dict(kind='blocks', limit=16),
                  evaluator=dict(type='detection', num_recal_batches=10, recalibrate='auto'))
