"""Importing this module registers everything of ``supernet`` that configs name, in mmengine's
root registries (mmdet's and mmpretrain's search them too):

* MODELS: ``AllocatedResNet``, ``ResNetSuperNet``, ``AllocatedMobileNetV2``,
  ``MobileNetV2SuperNet``, ``AllocatedMnasNet``, ``MnasNetSuperNet``;
* HOOKS / LOOPS / RUNNERS: ``DepthSamplingHook``, ``AllocationValLoop``, ``SafeCheckpointRunner``,
  and the allow-listed checkpoint loader for local paths;
* DATASETS (mmpretrain): ``CUB2010``, ``ImageNetSubset``, ``HeldOutSplit``.

Configs: ``custom_imports = dict(imports=['supernet.registry'])``. It is a module of its own so
that ``import supernet`` (spaces only) stays free of mmdet for the search algorithms.
"""
from . import datasets, engine, mobilenet, resnet  # noqa: F401
