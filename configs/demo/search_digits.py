# Demo target search: the demo super-network (trained on Fashion-MNIST) fine-tuned with depth
# sampling on 80% of the digits' training split, then greedy-searched up to 16 blocks; candidates
# are scored on the other 20% (the CUB-layout test split stays unseen).
_base_ = [
    '../_base_/models/demo_supernet_classifier.py', '../_base_/datasets/demo_digits_search.py',
    '../_base_/demo_search.py'
]
