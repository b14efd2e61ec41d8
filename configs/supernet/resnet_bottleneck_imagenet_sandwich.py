# The ResNet bottleneck super-network on ImageNet trained with BigNAS's sandwich rule and inplace
# distillation (engine.sandwich; recipe 'sandwich_distill' of engine.recipes.RECIPES): every
# step trains the largest subnet on the labels (label smoothing regularises it alone), two
# subnets drawn uniformly and the smallest on the largest's detached soft labels, and updates
# once. A step costs about four uniform ones: docs/report.md gives the ratio measured by
# benchmarks/supernet_recipes.py and how the report holds compute.
#   bash tools/dist_train.sh configs/supernet/resnet_bottleneck_imagenet_sandwich.py 8
_base_ = ['./resnet_bottleneck_imagenet.py']
model = dict(
    train_subnets=dict(largest=True, smallest=True, random=2),
    inplace_distill=dict(temperature=1.0, weight=1.0))
