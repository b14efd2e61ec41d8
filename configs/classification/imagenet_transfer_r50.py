# "Transfer-R50" is the paper's name for its searched backbone, here a subnet like any other.
# Weight search, step 1 (Sun et al., Sec. 3.4, Fig. 2 right): [1, 6, 6, 3] with the weights it
# inherits from the ImageNet super-network, fine-tuned on ImageNet before CUB. The subnet
# checkpoint keeps the classifier's keys (head included), so it loads whole:
#   python tools/extract_subnet.py SUPERNET --allocation 1,6,6,3 --out work_dirs/subnet_1-6-6-3.pth
#   python tools/train.py configs/classification/imagenet_transfer_r50.py \
#       --load-from work_dirs/subnet_1-6-6-3.pth --data-root data/imagenet
# then fine-tune on the target from the result: configs/classification/cub2011_transfer_r50.py
# with model.backbone.init_cfg.checkpoint=work_dirs/imagenet_transfer_r50/epoch_10.pth. Any other
# subnet: --cfg-options "model.backbone.stage_blocks=(3,4,6,3)" and its checkpoint.
_base_ = [
    '../_base_/models/subnet_classifier.py', '../_base_/datasets/imagenet.py',
    '../_base_/schedules/imagenet_finetune_10e.py', '../_base_/runtime_classification.py'
]
model = dict(
    backbone=dict(stage_blocks=(1, 6, 6, 3), init_cfg=None),
    head=dict(num_classes=1000,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
              topk=(1, 5)))
load_from = 'work_dirs/subnet_1-6-6-3.pth'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
