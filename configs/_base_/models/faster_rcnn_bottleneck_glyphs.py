# The demo detector: faster_rcnn_bottleneck_fpn.py around a network of the demo space
# (resnet_bottleneck_demo: 1/8 width, 3x3 stride-1 stem, no max-pool; strides 1, 2, 4, 8 where
# ImageNet ResNets have 4, 8, 16, 32); faster_rcnn_glyphs.py (a subnet) and
# faster_rcnn_supernet_glyphs.py (the super-network) say which. FPN takes layer2..layer4
# (strides 2, 4, 8) plus its max-pooled extra level (16): the stride-1 map of layer1 would
# quadruple the cost of FPN and RPN for objects of at least 10 px. So the anchor and RoI strides
# are mmdet's divided by 2 (the anchor scale stays 8: anchors of 16..128 px for glyphs of
# 10..70 px), FPN is 64 channels wide, and fewer proposals and RoIs are kept for images with at
# most four objects.
_base_ = ['./faster_rcnn_bottleneck_fpn.py']
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
