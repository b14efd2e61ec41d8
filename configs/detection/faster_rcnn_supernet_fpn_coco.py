# The detection search on COCO (Sun et al., Sec. 3.3): the super-network Faster-RCNN fine-tuned
# for the 1x schedule with depth sampling (the paper does not give its schedule), then each
# candidate scored by engine.detection.DetectionEvaluator: bbox mAP on the first 500 images of
# val2017 (Eq. 6 maximises the target validation score).
#   python tools/greedy_search.py configs/detection/faster_rcnn_supernet_fpn_coco.py \
#       --checkpoint work_dirs/resnet_supernet/epoch_100.pth --budget 16
_base_ = [
    '../_base_/models/faster_rcnn_supernet_fpn.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/coco_1x.py', '../_base_/runtime_detection.py'
]
# ann_file=None, 'instances' in the meta keys: CocoMetric scores the subset against its own boxes.
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
# tools/greedy_search.py has no --auto-scale-lr: the LR (0.04 at batch 64) is scaled here.
auto_scale_lr = dict(enable=True)
search_cfg = dict(finetune_epochs=12, budget=dict(kind='blocks', limit=16),
                  evaluator=dict(type='detection', num_recal_batches=20, recalibrate='auto'))
