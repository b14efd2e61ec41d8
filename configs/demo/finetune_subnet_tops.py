# Class-split target: fine-tune a subnet of the class-split super-network on the tops' 'train'
# part (30 images per class; archdata.prepare_tops_target) and test it on their 'test' part (the
# subnet: --cfg-options as in _base_/models/demo_subnet_classifier.py).
_base_ = [
    '../_base_/models/demo_subnet_classifier.py', '../_base_/datasets/demo_tops.py',
    '../_base_/demo_finetune.py'
]
model = dict(data_preprocessor=dict(num_classes=5), head=dict(num_classes=5))
