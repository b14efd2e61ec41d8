"""Turning any ``nn.Module`` into *units*: the tensors of one layer that move together.

A unit is one module's own state-dict entries (``recurse=False``): a convolution's ``weight`` and
``bias``, a BatchNorm's ``weight``, ``bias``, ``running_mean``, ``running_var`` and
``num_batches_tracked``. Units are read off the state dict, so every tensor ``load_state_dict``
expects belongs to exactly one unit and nothing (BN buffers included) can be forgotten. A module
of a type we do not know (a ViT's ``cls_token``, ConvNeXt's layer-scale ``gamma``) gives one unit
per tensor, of kind ``'param:<name>'``, so a ``cls_token`` can only ever meet another
``cls_token``.

    >>> import torch.nn as nn
    >>> net = Network(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(),
    ...                             nn.Linear(8, 2)))
    >>> [(u.name, u.kind, u.shape) for u in net.units]
    [('0', 'conv2d', (8, 3, 3, 3)), ('1', 'batchnorm', (8,)), ('3', 'linear', (2, 8))]
    >>> net.units[1].keys
    {'weight': '1.weight', 'bias': '1.bias', 'running_mean': '1.running_mean', 'running_var': '1.running_var', 'num_batches_tracked': '1.num_batches_tracked'}
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd, _ConvTransposeNd
from torch.nn.modules.instancenorm import _InstanceNorm

from .graph import UnitGraph, build_unit_graph

# isinstance order matters: transposed convolutions are _ConvNd too. Subclasses (timm's
# BatchNormAct2d and Conv2dSame, mmcv's wrappers) land on their base type.
_KNOWN_KINDS = (
    (_ConvTransposeNd, 'conv_transpose'),
    (_ConvNd, 'conv'),
    (nn.Linear, 'linear'),
    (nn.Embedding, 'embedding'),
    (_BatchNorm, 'batchnorm'),
    (_InstanceNorm, 'instancenorm'),
    (nn.LayerNorm, 'layernorm'),
    (nn.GroupNorm, 'groupnorm'),
)


@dataclass(frozen=True)
class Unit:
    """The tensors of one layer.

    Attributes:
        name: the module path (``'layer1.0.conv1'``), or module path + tensor name for a bare
            parameter (``'cls_token'``, ``'stages.0.blocks.0.gamma'``).
        kind: ``'conv2d'``, ``'linear'``, ``'batchnorm'``, ``'layernorm'``, ``'groupnorm'``,
            ``'embedding'``, ... or ``'param:<tensor name>'``.
        module: path of the module owning the tensors (``''`` for the root).
        keys: local tensor name → state-dict key, in state-dict order.
        shape: shape of the main tensor (``weight`` if there is one).
    """
    name: str
    kind: str
    module: str
    keys: dict
    shape: tuple


def _kind(module: nn.Module, weight: torch.Tensor | None) -> str | None:
    for cls, kind in _KNOWN_KINDS:
        if isinstance(module, cls):
            if kind.startswith('conv') and weight is not None:
                return f'{kind}{weight.dim() - 2}d'  # conv2d, conv_transpose1d, ...
            return kind
    return None


def extract_units(model: nn.Module, state: dict) -> list:
    """The units of ``model`` in state-dict order (module registration order)."""
    by_module: dict = {}
    for key in state:
        module_name, _, local = key.rpartition('.')
        by_module.setdefault(module_name, {})[local] = key
    units = []
    for module_name, keys in by_module.items():
        module = model.get_submodule(module_name)
        weight = state.get(keys['weight']) if 'weight' in keys else None
        kind = _kind(module, weight)
        if kind is not None:
            main = weight if weight is not None else state[next(iter(keys.values()))]
            units.append(Unit(module_name, kind, module_name, keys, tuple(main.shape)))
            continue
        for local, key in keys.items():  # unknown module: one unit per tensor
            units.append(Unit(key, f'param:{local}', module_name, {local: key},
                              tuple(state[key].shape)))
    return units


class Network:
    """A model seen as units, with its execution graph built on first use.

    Args:
        model: any ``nn.Module``; it is only read.
    """

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise TypeError(f'expected an nn.Module, got {type(model).__name__}')
        self.model = model
        self.state = model.state_dict()
        self.units = extract_units(model, self.state)
        self.unit = {u.name: u for u in self.units}

    @cached_property
    def graph(self) -> UnitGraph:
        """The execution graph (torch.fx, or module order where tracing fails)."""
        return build_unit_graph(self.model, self.units)

    def __repr__(self):
        return f'Network({type(self.model).__name__}, {len(self.units)} units)'
