# Weight search, step 1 on ImageNet with distillation (Sun et al., Sec. 3.4): the searched subnet,
# with the weights it inherits from the ImageNet super-network, fine-tuned on ImageNet as
# imagenet_transfer_r50.py does, while it mimics torchvision's ResNet-50 (the network a user would
# otherwise start from) on its logits and on the output of every stage.
# The teacher file: torchvision's ResNet-50 keys are AllocatedResNet's (no conversion,
# initialize/convert.py), under backbone.; its fc is the LinearClsHead's head.fc:
#   python -c "import torch, torchvision; sd = torchvision.models.resnet50(\
#       weights='IMAGENET1K_V1').state_dict(); torch.save({'state_dict': {('head.' if \
#       k.startswith('fc.') else 'backbone.') + k: v for k, v in sd.items()}}, \
#       'work_dirs/resnet50_torchvision_classifier.pth')"
# torchvision's normalisation (mean 0.485/0.456/0.406, std 0.229/0.224/0.225, RGB) is this
# config's data_preprocessor's, which the teacher sees too. Then, as in imagenet_transfer_r50.py:
#   python tools/extract_subnet.py SUPERNET --allocation 1,6,6,3 --out work_dirs/subnet_1-6-6-3.pth
#   python tools/train.py configs/classification/imagenet_distill_subnet_r50.py \
#       --load-from work_dirs/subnet_1-6-6-3.pth --data-root data/imagenet
# and fine-tune on the target from the result's backbone.* keys (cub2011_transfer_r50.py with
# model.backbone.init_cfg.checkpoint=work_dirs/imagenet_distill_subnet_r50/epoch_10.pth); its
# distill_connectors.* keys are the distillation's own. The loss weights are untuned.
_base_ = ['./imagenet_transfer_r50.py']
model = dict(
    type='DistilledClassifier',
    teacher=dict(
        model=dict(
            type='ImageClassifier',
            backbone=dict(type='AllocatedResNet', space='resnet_bottleneck',
                          stage_blocks=(3, 4, 6, 3), out_indices=(3, ), init_cfg=None),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048)),
        checkpoint='work_dirs/resnet50_torchvision_classifier.pth'),
    distill=dict(temperature=4.0, label_weight=1.0, logit_weight=1.0, feature_weight=1.0,
                 feature_stages=(0, 1, 2, 3)))
