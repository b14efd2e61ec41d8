"""Search spaces, single-path super-networks and their children.

``import supernet`` is light: the spaces (plain data) are here at once, so the search algorithms
can use them without mmdet. The backbones (mmdet's ResNet and MobileNetV2 building blocks) load
on first access, e.g. ``from supernet import ResNetSuperNet``, which also registers everything
configs name. A config registers them with::

    custom_imports = dict(imports=['supernet.registry'])
    model = dict(backbone=dict(type='AllocatedResNet', stage_blocks=(1, 3, 7, 5)))
"""
import importlib

from .spaces import (
    AllocationError,
    SearchSpace,
    StageSpec,
    format_allocation,
    get_space,
    list_spaces,
    parse_allocation,
    register_space,
)
from .subnet import BACKBONES, backbone_cfg, build_backbone, extract_subnet

# name -> module, imported on first access (PEP 562) with supernet.registry
_LAZY = {
    'SuperNetMixin': 'supernet.dynamic',
    'AllocatedResNet': 'supernet.resnet', 'ResNetSuperNet': 'supernet.resnet',
    'AllocatedMobileNetV2': 'supernet.mobilenet', 'AllocatedMnasNet': 'supernet.mobilenet',
    'MobileNetV2SuperNet': 'supernet.mobilenet', 'MnasNetSuperNet': 'supernet.mobilenet',
}


def __getattr__(name):
    if name in _LAZY:
        importlib.import_module('supernet.registry')  # a class from here always builds by name
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'AllocationError', 'BACKBONES', 'SearchSpace', 'StageSpec', 'backbone_cfg', 'build_backbone',
    'extract_subnet', 'format_allocation', 'get_space', 'list_spaces', 'parse_allocation',
    'register_space', *_LAZY,
]
