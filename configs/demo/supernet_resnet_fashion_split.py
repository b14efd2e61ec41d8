# The class-split source super-network: configs/demo/supernet_resnet_fashion.py trained on the
# five Fashion-MNIST classes that are not tops (trouser, sandal, sneaker, bag, ankle-boot;
# archdata.prepare_split_source, ImageNet folder layout). The tops are the target
# (configs/demo/search_tops.py), so source and target share no label, as ImageNet and CUB.
_base_ = ['./supernet_resnet_fashion.py']
data_root = 'data/demo/fashion_split_source'
model = dict(head=dict(num_classes=5))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
