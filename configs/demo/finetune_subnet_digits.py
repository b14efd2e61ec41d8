# Demo target: fine-tune a subnet of the demo super-network on the digits (CUB-200-2011 layout,
# tools/prepare_demo_data.py) and test it on their test split (the subnet: --cfg-options as in
# _base_/models/demo_subnet_classifier.py).
_base_ = [
    '../_base_/models/demo_subnet_classifier.py', '../_base_/datasets/demo_digits.py',
    '../_base_/demo_finetune.py'
]
