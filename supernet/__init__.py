"""Search spaces, single-path super-networks and their children.

``import supernet`` is light: the spaces (plain data), :func:`extract_subnet` and the builders
are here at once, so the search algorithms can use them without mmdet. The backbones load on
first access, e.g. ``from supernet import ResNetSuperNet``; they touch no engine registry, and
neither does :func:`init_from` (a super-network initialised from pretrained networks). A config
names them after ``supernet.registry`` registered them::

    custom_imports = dict(imports=['supernet.registry'])
    model = dict(backbone=dict(type='AllocatedResNet', stage_blocks=(1, 3, 7, 5)))
"""
import importlib

from .build import backbone_cfg, build_backbone, supernet_class
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
from .subnet import extract_subnet

# name -> module, imported on first access (PEP 562)
_LAZY = {
    'SuperNetMixin': 'supernet.dynamic', 'SUPERNETS': 'supernet.models',
    'init_from': 'supernet.warm_start',
    'AllocatedResNet': 'supernet.resnet', 'ResNetSuperNet': 'supernet.resnet',
    'AllocatedMobileNetV2': 'supernet.mobilenet', 'AllocatedMnasNet': 'supernet.mobilenet',
    'MobileNetV2SuperNet': 'supernet.mobilenet', 'MnasNetSuperNet': 'supernet.mobilenet',
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'AllocationError', 'SearchSpace', 'StageSpec', 'backbone_cfg', 'build_backbone',
    'extract_subnet', 'format_allocation', 'get_space', 'list_spaces', 'parse_allocation',
    'register_space', 'supernet_class', *_LAZY,
]
