# Demo detection target: Faster-RCNN FPN with a child of the demo super-network on the embedded
# glyph set (COCO layout, written by tools/prepare_demo_data.py), trained on CPU. Pick the child:
#   --cfg-options model.backbone.stage_blocks=(1,3,7,5) model.backbone.init_cfg.checkpoint=...
# The demo space (resnet_bottleneck_demo: 1/8 width, 3x3 stride-1 stem, no max-pool) has strides
# 1, 2, 4, 8 where ImageNet ResNets have 4, 8, 16, 32. FPN takes layer2..layer4 (strides 2, 4, 8)
# plus its max-pooled extra level (16): the stride-1 map of layer1 would quadruple the cost of
# FPN and RPN for objects of at least 10 px. So the anchor and RoI strides are mmdet's divided by
# 2 (the anchor scale stays 8: anchors of 16..128 px for glyphs of 10..70 px), FPN is 64 channels
# wide, and fewer proposals and RoIs are kept for images with at most four objects.
_base_ = '../detection/faster_rcnn_transfer_r50_fpn_1x_coco.py'

classes = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
           'bag', 'ankle-boot')
data_root = 'data/demo/coco_glyphs/'
model = dict(
    # the super-network's input normalisation (Fashion-MNIST: grey, mean 72.9, std 90)
    data_preprocessor=dict(mean=[72.9] * 3, std=[90.0] * 3, bgr_to_rgb=False),
    # norm_eval=False: batches of 8 small images estimate BatchNorm well, and the statistics
    # inherited from the super-network mix all its sampled depths
    backbone=dict(space='resnet_bottleneck_demo', out_indices=(1, 2, 3), norm_eval=False,
                  init_cfg=dict(checkpoint='work_dirs/demo_detection_child.pth')),
    neck=dict(in_channels=[64, 128, 256], out_channels=64, num_outs=4),
    rpn_head=dict(in_channels=64, feat_channels=64,
                  anchor_generator=dict(strides=[2, 4, 8, 16])),
    roi_head=dict(
        # RoIs under 56 px come from stride 2, under 112 from 4, larger from 8 (mmdet: 4, 8, 16)
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=[2, 4, 8], finest_scale=28),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=10)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=200),
                   rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(data_root=data_root, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='train/'), metainfo=dict(classes=classes),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(data_root=data_root, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='val/'), metainfo=dict(classes=classes),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# 400 images / 8 = 50 iterations per epoch
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=8, milestones=[6], gamma=0.1),
]
train_cfg = dict(max_epochs=8, val_interval=4)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=1))
log_processor = dict(window_size=10)
randomness = dict(seed=0)
