"""Search spaces, single-path super-networks and their subnets.

``import supernet`` is light: the spaces (plain data), :func:`extract_subnet` and the builders
are here at once, so the search algorithms can use them without mmdet. The backbones load on
first access, e.g. ``from supernet import ResNetSuperNet``; they touch no engine registry. A config
names them after ``engine.registry`` registered them::

    custom_imports = dict(imports=['engine.registry'])
    model = dict(backbone=dict(type='AllocatedResNet', stage_blocks=(1, 3, 7, 5)))
"""
import importlib

from common import deprecation

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
    'AllocatedResNet': 'supernet.resnet', 'ResNetSuperNet': 'supernet.resnet',
    'AllocatedMobileNetV2': 'supernet.mobilenet', 'AllocatedMnasNet': 'supernet.mobilenet',
    'MobileNetV2SuperNet': 'supernet.mobilenet', 'MnasNetSuperNet': 'supernet.mobilenet',
    'load_subnet': 'supernet.formats', 'subnet_from_state_dict': 'supernet.formats',
    'export_subnet': 'supernet.formats',
}


deprecation.install()  # the modules that moved out (engine, archdata, initialize) keep their names
_deprecated = deprecation.renamed(__name__, {'init_from': 'initialize:init_from'})


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    return _deprecated(name)


__all__ = [
    'AllocationError', 'SearchSpace', 'StageSpec', 'backbone_cfg', 'build_backbone',
    'extract_subnet', 'format_allocation', 'get_space', 'list_spaces', 'parse_allocation',
    'register_space', 'supernet_class', *_LAZY,
]
