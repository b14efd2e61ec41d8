"""Search spaces, single-path super-networks and their children.

``import supernet`` registers every backbone in mmengine's root ``MODELS`` registry, which
mmdet's and mmpretrain's registries search too, so configs can name them directly::

    custom_imports = dict(imports=['supernet'])
    model = dict(backbone=dict(type='AllocatedResNet', stage_blocks=(1, 3, 7, 5)))
"""
from . import engine  # noqa: F401  (registers hooks, loops, runner, safe checkpoint loading)
from .dynamic import SuperNetMixin
from .mobilenet import (AllocatedMnasNet, AllocatedMobileNetV2, MnasNetSuperNet,
                        MobileNetV2SuperNet)
from .resnet import AllocatedResNet, ResNetSuperNet
from .spaces import (AllocationError, SearchSpace, StageSpec, get_space, list_spaces,
                     parse_allocation, register_space)
from .subnet import BACKBONES, backbone_cfg, build_backbone, extract_subnet

__all__ = [
    'AllocatedMnasNet', 'AllocatedMobileNetV2', 'AllocatedResNet', 'AllocationError',
    'BACKBONES', 'MnasNetSuperNet', 'MobileNetV2SuperNet', 'ResNetSuperNet', 'SearchSpace',
    'StageSpec', 'SuperNetMixin', 'backbone_cfg', 'build_backbone', 'extract_subnet',
    'get_space', 'list_spaces', 'parse_allocation', 'register_space',
]
