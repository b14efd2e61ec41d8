# Demo detection target: Faster-RCNN FPN with a subnet of the demo super-network on the embedded
# glyph set (COCO layout), trained on CPU. Pick the subnet:
#   --cfg-options model.backbone.stage_blocks=(1,3,7,5) model.backbone.init_cfg.checkpoint=...
# _base_/models/faster_rcnn_bottleneck_glyphs.py explains the demo detector's strides and widths.
_base_ = [
    '../_base_/models/faster_rcnn_glyphs.py', '../_base_/datasets/demo_coco_glyphs.py',
    '../_base_/schedules/demo_glyphs.py', '../_base_/runtime_detection.py'
]
model = dict(backbone=dict(stage_blocks=(1, 3, 7, 5),
                           init_cfg=dict(checkpoint='work_dirs/demo_detection_subnet.pth')))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=1))
log_processor = dict(window_size=10)
randomness = dict(seed=0)
