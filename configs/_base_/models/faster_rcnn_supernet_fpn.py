# mmdet's Faster-RCNN FPN with the ResNet super-network [8, 10, 36, 14] as backbone: the model of
# the detection search (Sun et al., Sec. 3.3), fine-tuned with a depth drawn per stage every
# iteration. It starts from the ImageNet super-network (tools/greedy_search.py --checkpoint sets
# init_cfg). norm_eval=True: BN statistics stay those of ImageNet, so the search recalibrates none.
_base_ = ['./faster_rcnn_bottleneck_fpn.py', '../supernet_training.py']
model = dict(backbone=dict(type='ResNetSuperNet',
                           init_cfg=dict(checkpoint='work_dirs/resnet_supernet/epoch_100.pth')))
