# A classifier around the ResNet bottleneck super-network (max depths [8, 10, 36, 14]), label
# smoothing 0.1 (Sun et al., Sec. 4.1). SupernetClassifier is mmpretrain's ImageClassifier that
# trains the subnets train_subnets asks for every step (engine.sandwich): here the paper's one
# subnet drawn uniformly, no inplace_distill; ../recipes/ holds the sandwich rule and inplace
# distillation. Validation scores the deepest and the shallowest
# subnet ('max/accuracy/top1', 'min/accuracy/top1'), each with BatchNorm statistics re-estimated
# on 20 training batches (the shared running statistics mix all sampled depths).
_base_ = ['../supernet_training.py']
model = dict(
    type='SupernetClassifier',
    train_subnets=dict(largest=False, smallest=False, random=1),
    backbone=dict(type='ResNetSuperNet', space='resnet_bottleneck', out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))
val_cfg = dict(type='AllocationValLoop', allocations=['max', 'min'], bn_recalibration_batches=20)
