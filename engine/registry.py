"""Importing this module registers everything of ``supernet``, ``engine`` and ``archdata`` that
configs name, in mmengine's root registries (mmdet's and mmpretrain's search them too):

* MODELS: ``AllocatedResNet``, ``ResNetSuperNet``, ``AllocatedMobileNetV2``,
  ``MobileNetV2SuperNet``, ``AllocatedMnasNet``, ``MnasNetSuperNet`` — registered here, so the
  model classes stay free of engine registries — and the classifiers that train them:
  ``SupernetClassifier`` (several subnets per step; its DDP wrapper ``SupernetDDP``) and
  ``DistilledClassifier`` (a subnet learning from a frozen teacher);
* HOOKS / LOOPS / RUNNERS: ``DepthSamplingHook``, ``AllocationValLoop``, ``SafeCheckpointRunner``,
  and the allow-listed checkpoint loader for local paths;
* DATASETS (mmpretrain): ``CUB2010``, ``ImageNetSubset``, ``HeldOutSplit``.

Configs: ``custom_imports = dict(imports=['engine.registry'])``. It is a module of its own so
that the models (``from supernet import ResNetSuperNet``) and the spaces stay free of mmpretrain
and mmengine's Runner.
"""
from mmengine.registry import MODELS

import archdata  # noqa: F401  (registers the datasets beside their definitions)
from supernet.models import SUPERNETS

# the hooks, loops and runner register beside their definitions
from . import checkpoint, distill, hooks, loops, progress, runner, sandwich  # noqa: F401

for _supernet in SUPERNETS.values():
    for _backbone in (_supernet.subnet_class, _supernet):
        MODELS.register_module(module=_backbone)
