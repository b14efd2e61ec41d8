"""Backbones of a space by name: :func:`backbone_cfg` (what a config holds) and
:func:`build_backbone` (the module itself).

Light to import: the model classes load on the first call, so the search algorithms can import
these functions without mmdet.
"""
from __future__ import annotations

from .spaces import SearchSpace, get_space


def supernet_class(space) -> type:
    """The super-network class of ``space``'s family; its subnets are ``.subnet_class``."""
    from .models import SUPERNETS
    return SUPERNETS[get_space(space).family]


def backbone_cfg(space, allocation=None, **kwargs) -> dict:
    """Config dict of the subnet backbone at ``allocation``; ``None`` gives the super-network.

    >>> backbone_cfg('resnet_bottleneck', (1, 3, 7, 5), out_indices=(3,))
    {'type': 'AllocatedResNet', 'space': 'resnet_bottleneck', 'stage_blocks': (1, 3, 7, 5), 'out_indices': (3,)}
    """
    space = get_space(space)
    supernet = supernet_class(space)
    cfg = dict(type=(supernet if allocation is None else supernet.subnet_class).__name__,
               space=_space_ref(space))
    if allocation is not None:
        cfg['stage_blocks'] = space.validate(allocation, allow_deeper=True)
    cfg.update(kwargs)
    return cfg


def build_backbone(space, allocation=None, **kwargs):
    """The module :func:`backbone_cfg` describes (what mmdet / mmpretrain build from it)."""
    space = get_space(space)
    supernet = supernet_class(space)
    if allocation is None:
        return supernet(space=_space_ref(space), **kwargs)
    return supernet.subnet_class(stage_blocks=space.validate(allocation, allow_deeper=True),
                                 space=_space_ref(space), **kwargs)


def _space_ref(space: SearchSpace):
    """A registered space is named in configs; an ad-hoc one is passed as the object."""
    try:
        return space.name if get_space(space.name) == space else space
    except KeyError:
        return space
