# The demo detector of _base_/models/faster_rcnn_glyphs.py (same strides and widths, explained
# there) with the demo super-network as backbone: the model of the demo detection search.
_base_ = ['./faster_rcnn_supernet_fpn.py']
model = dict(
    # the super-network's input normalisation (Fashion-MNIST: grey, mean 72.9, std 90)
    data_preprocessor=dict(mean=[72.9] * 3, std=[90.0] * 3, bgr_to_rgb=False),
    # norm_eval=False: batches of 8 small images estimate BatchNorm well, and the statistics
    # inherited from the super-network mix all its sampled depths
    backbone=dict(space='resnet_bottleneck_demo', out_indices=(1, 2, 3), norm_eval=False),
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
