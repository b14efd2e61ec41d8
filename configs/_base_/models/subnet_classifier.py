# An ImageClassifier around a searched subnet: a static ResNet of any allocation whose backbone
# starts from a subnet checkpoint written by tools/extract_subnet.py (inherited weights).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='AllocatedResNet',
        space='resnet_bottleneck',
        stage_blocks=(3, 4, 6, 3),
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/subnet.pth', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=200, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))
val_cfg = dict()
