"""What turns a subnet backbone into a single-path super-network: an active depth per stage.

A super-network is its family's subnet backbone built at the space's maximum depths; the only
difference is that each searched stage runs its first ``S_i`` blocks (paper 004, Sec. 3.2). The
API follows OFA's (``set_active_subnet`` / ``sample_active_subnet`` / ``get_active_subnet``):
:meth:`set_allocation`, :meth:`sample_allocation`, :meth:`get_subnet`.
"""
from __future__ import annotations

from itertools import islice

import numpy as np
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from common import deprecation

from .spaces import Allocation
from .subnet import extract_subnet


class StagedBackbone:
    """Forward and train mode of every backbone here: a stem, then the modules named in
    ``layer_names`` in order (stages, and e.g. MobileNetV2's ``conv2``), returning those at
    ``out_indices``; frozen stages (``_freeze_stages``) and, with ``norm_eval``, every BatchNorm
    stay in eval mode while training, as in mmdet's backbones.

    :meth:`forward_layers` runs a slice of them, so a search can cache the features of a shared
    prefix of stages and run only the rest per candidate.
    """
    layer_names: list
    norm_eval: bool

    def _freeze_stages(self):
        raise NotImplementedError

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_layers(self, x: torch.Tensor, start: int = 0, stop: int | None = None):
        """Run ``layer_names[start:stop]`` on ``x`` (the stem's output when ``start == 0``).

        Returns:
            (last feature map, {layer index: output} for the indices in ``out_indices``)
        """
        outs = {}
        for i in range(start, len(self.layer_names) if stop is None else stop):
            x = self._run_layer(self.layer_names[i], x)
            if i in self.out_indices:
                outs[i] = x
        return x, outs

    def forward(self, x: torch.Tensor) -> tuple:
        _, outs = self.forward_layers(self.forward_stem(x))
        return tuple(outs[i] for i in sorted(outs))

    def _run_layer(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, name)(x)


class SuperNetMixin:
    """Mixin for a backbone built at ``space.max_depths`` whose stages run a prefix of blocks.

    The class using it calls :meth:`_init_allocation` after building; ``self._subnet_kwargs``
    holds the constructor arguments a subnet shares with the super-network. A subnet is an instance
    of the class attribute ``subnet_class`` (e.g. ``ResNetSuperNet.subnet_class`` is
    ``AllocatedResNet``), which every super-network names itself.
    """
    subnet_class: type

    def _init_allocation(self, subnet_kwargs: dict):
        # A subnet inherits weights, not the super-network's initialisation recipe.
        self._subnet_kwargs = {k: v for k, v in subnet_kwargs.items() if k != 'init_cfg'}
        self.set_allocation(self.space.max_depths)

    @property
    def allocation(self) -> Allocation:
        """The active depth of each searched stage."""
        return self._allocation

    def set_allocation(self, allocation) -> Allocation:
        """Keep the first ``allocation[i]`` blocks of searched stage ``i`` in later forwards."""
        self._allocation = self.space.validate(allocation)
        self._layer_depths = self.space.layer_depths(self._allocation)
        return self._allocation

    def sample_allocation(self, rng: np.random.Generator) -> Allocation:
        """Set and return a depth per stage drawn uniformly from ``1..max_depth``."""
        return self.set_allocation(self.space.sample(rng))

    def _run_layer(self, name: str, x: torch.Tensor) -> torch.Tensor:
        layer = getattr(self, name)
        depth = self._layer_depths.get(name)
        if depth is None:  # not a stage (e.g. MobileNetV2's conv2)
            return layer(x)
        for block in islice(layer, depth):
            x = block(x)
        return x

    def get_subnet(self, allocation=None):
        """The subnet backbone of ``allocation`` (default: the active one) with inherited weights.

        It is an ordinary backbone (e.g. :class:`AllocatedResNet`), buildable from a config and
        loadable without this class; its outputs equal this super-network's at that allocation.
        """
        allocation = self.allocation if allocation is None else self.space.validate(allocation)
        subnet = self.build_subnet(allocation)
        subnet.load_state_dict(extract_subnet(self.state_dict(), allocation, self.space))
        return subnet.train(self.training)

    def build_subnet(self, allocation):
        """A freshly initialized subnet backbone of ``allocation`` with this super-network's
        constructor arguments (``out_indices``, ``norm_eval``, ``frozen_stages``, ...).

        Depths may exceed the space's maximum: the blocks this super-network lacks have to be
        initialized from elsewhere (e.g. by weight transfer from :meth:`get_subnet`).
        """
        allocation = self.space.validate(allocation, allow_deeper=True)
        return self.subnet_class(stage_blocks=allocation, space=self.space, **self._subnet_kwargs)

    def static_backbone(self, allocation):
        """Deprecated name of :meth:`build_subnet`."""
        deprecation.warn_once(f'{type(self).__name__}.static_backbone', 'build_subnet')
        return self.build_subnet(allocation)
