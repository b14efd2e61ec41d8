"""Subnets of a super-network: the weights they inherit, as a state dict.

A subnet keeps the first ``S_i`` blocks of every searched stage, so its state dict is the
super-network's minus the later blocks; no key is renamed. Backbones and checkpoint files of
subnets: :mod:`supernet.extract`.

    >>> from supernet import build_backbone
    >>> supernet_sd = build_backbone('resnet_basic').state_dict()
    >>> subnet_sd = extract_subnet(supernet_sd, (1, 2, 3, 1), 'resnet_basic')
    >>> build_backbone('resnet_basic', (1, 2, 3, 1)).load_state_dict(subnet_sd)
    <All keys matched successfully>
"""
from __future__ import annotations

import re
from collections import OrderedDict, defaultdict
from typing import Mapping

from .spaces import get_space

_BLOCK_KEY = re.compile(r'(?P<stage>[A-Za-z_]\w*)\.(?P<index>\d+)\.')


def extract_subnet(state_dict: Mapping, allocation, space='resnet_bottleneck',
                   prefix: str = '') -> OrderedDict:
    """The subnet's state dict: the super-network's without blocks past each stage's depth.

    Args:
        state_dict: a super-network state dict (tensors are shared, not copied).
        allocation: one depth per searched stage, validated against ``space``.
        space: the super-network's search space (name or :class:`SearchSpace`).
        prefix: where the backbone's keys start, e.g. ``'backbone.'`` in a classifier's or
            detector's state dict; keys outside it (necks, heads) are kept as they are.

    Returns:
        The keys of ``build_backbone(space, allocation)`` (plus any outside ``prefix``).
    """
    space = get_space(space)
    depths = dict(zip((s.name for s in space.searched), space.validate(allocation)))
    subnet, found = OrderedDict(), defaultdict(set)
    for key, value in state_dict.items():
        match = _BLOCK_KEY.match(key, len(prefix)) if key.startswith(prefix) else None
        if match and match['stage'] in depths:
            index = int(match['index'])
            found[match['stage']].add(index)
            if index >= depths[match['stage']]:
                continue
        subnet[key] = value
    for stage, depth in depths.items():
        missing = sorted(set(range(depth)) - found[stage])
        if missing:
            raise KeyError(f'the state dict has no weights for block {prefix}{stage}.{missing[0]}, '
                           f'which allocation {tuple(depths.values())} needs (space '
                           f'{space.name!r}, prefix {prefix!r}: is the prefix right?)')
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:  # module versions, read by load_state_dict (e.g. BatchNorm)
        subnet._metadata = metadata
    return subnet
