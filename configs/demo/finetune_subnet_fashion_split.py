# Weight search, step 1 on the class-split source (tools/report.py): a subnet of
# configs/demo/supernet_resnet_fashion_split.py fine-tuned on the five Fashion-MNIST classes that
# are not tops, before the tops (configs/demo/finetune_subnet_tops.py), with the recipe of
# configs/demo/finetune_subnet_fashion.py (which says why):
#   python tools/train.py configs/demo/finetune_subnet_fashion_split.py \
#       --load-from work_dirs/subnet_3-4-6-3.pth \
#       --cfg-options "model.backbone.stage_blocks=(3,4,6,3)"
_base_ = ['./finetune_subnet_fashion.py']
data_root = 'data/demo/fashion_split_source'
model = dict(head=dict(num_classes=5))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
