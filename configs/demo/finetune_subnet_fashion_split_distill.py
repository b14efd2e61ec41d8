# Weight search, step 1 with distillation (Sun et al., Sec. 3.4 names knowledge distillation and
# feature mimicking as alternatives to plain fine-tuning): the searched subnet, with the weights it
# inherits, fine-tuned on the class-split source as configs/demo/finetune_subnet_fashion_split.py
# does, while it mimics a teacher the user has for free: the default allocation 3-4-6-3 trained
# alone on the same source (configs/demo/train_subnet_fashion_split.py), on its logits and on the
# output of every stage. Make the teacher, cut the subnet, then run the step:
#   python tools/train.py configs/demo/train_subnet_fashion_split.py \
#       --cfg-options "model.backbone.stage_blocks=(3,4,6,3)"
#   python tools/extract_subnet.py work_dirs/supernet_resnet_fashion_split/iter_600.pth \
#       --allocation 1,3,7,5 --out work_dirs/subnet_1-3-7-5.pth
#   python tools/train.py configs/demo/finetune_subnet_fashion_split_distill.py \
#       --load-from work_dirs/subnet_1-3-7-5.pth \
#       --cfg-options "model.backbone.stage_blocks=(1,3,7,5)"
# The super-network's largest subnet as teacher instead: extract it with --allocation 8,10,36,14
# and set model.teacher.checkpoint to that file and model.teacher.model.backbone.stage_blocks to
# (8,10,36,14). The target fine-tune starts from the result's backbone.* keys as after the plain
# step; the checkpoint's distill_connectors.* keys are the distillation's own.
# The weights of the three losses are untuned: no measurement chose them yet.
_base_ = ['./finetune_subnet_fashion_split.py']
model = dict(
    type='DistilledClassifier',
    teacher=dict(
        model=dict(
            type='ImageClassifier',
            backbone=dict(type='AllocatedResNet', space='resnet_bottleneck_demo',
                          stage_blocks=(3, 4, 6, 3), out_indices=(3, ), init_cfg=None),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=256)),
        checkpoint='work_dirs/train_subnet_fashion_split/iter_600.pth'),
    distill=dict(temperature=4.0, label_weight=1.0, logit_weight=1.0, feature_weight=1.0,
                 feature_stages=(0, 1, 2, 3)))
