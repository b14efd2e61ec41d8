"""MobileNetV2 and MnasNet with any number of blocks per searched stage, and their super-networks.

Module and parameter names are mmdet's ``MobileNetV2``: ``conv1`` (stem), ``layer1`` … ``layer7``
(stages of ``InvertedResidual``, mmdet's rebuilt in :mod:`supernet.layers`: ``expand_conv``,
``depthwise_conv``, ``linear_conv``) and ``conv2`` (1×1 head), with mmdet's ``out_indices`` (0–6
the layers, 7 ``conv2``) and ``frozen_stages`` (0 the stem, k also ``layer1..k``). mmdet's class
reads a fixed 4-column table with one kernel size, so it cannot express MnasNet's 5×5 stages; this
class is the same builder driven by a search space, and a test checks it against mmdet's
``MobileNetV2`` key for key.

Unlike mmdet's class, layers past the highest of ``out_indices`` are not built (as timm's
``features_only``): a detector feeding ``layer7`` to FPN has no ``conv2``, so under DDP no
parameter goes without a gradient. Checkpoints that hold them (ImageNet networks, super-networks)
still load through ``init_cfg=dict(type='Pretrained', ...)``, which mmengine loads non-strictly:
the extra keys are logged as unexpected and skipped.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from .dynamic import StagedBackbone, SuperNetMixin
from .layers import ConvModule, InvertedResidual
from .spaces import get_space


class AllocatedMobileNetV2(StagedBackbone, BaseModule):
    """A MobileNetV2 whose searched stages have ``stage_blocks`` blocks.

    Args:
        stage_blocks (Sequence[int] | None): blocks of the searched stages ``layer2``…``layer6``,
            e.g. ``(2, 2, 2, 3, 5)`` (paper 004's Transfer-MBv2). ``None``: the standard network.
        space (str | SearchSpace): stage table. Default: ``'mobilenet_v2'``.
        out_indices (Sequence[int]): outputs of ``layer{i+1}`` for i in 0..6, 7 for ``conv2``.
            Default: (1, 2, 4, 7) as mmdet. For FPN (strides 4–32) use (1, 2, 4, 6). Layers past
            the highest index are not built; it must reach the last searched stage (5,
            ``layer6``), so that every allocation has all of its blocks.
        frozen_stages (int): -1 none, 0 the stem, k the stem and ``layer1..k``. Default: -1.
        conv_cfg, norm_cfg, act_cfg (dict): as mmcv's ``ConvModule``. ``act_cfg=None`` picks the
            family's activation (ReLU6 for MobileNetV2, ReLU for MnasNet).
        norm_eval (bool): keep BatchNorm in eval mode while training. Default: False.
        with_cp (bool): gradient checkpointing in the blocks. Default: False.
        init_cfg (dict | list[dict] | None): mmengine init config; ``None`` gives Kaiming convs
            and unit BatchNorm, as mmdet.

    Example:
        >>> import torch
        >>> model = AllocatedMobileNetV2(stage_blocks=(2, 2, 2, 3, 5), out_indices=(1, 2, 4, 6))
        >>> for out in model.eval()(torch.rand(1, 3, 64, 64)):
        ...     print(tuple(out.shape))
        (1, 24, 16, 16)
        (1, 32, 8, 8)
        (1, 96, 4, 4)
        (1, 320, 2, 2)
    """
    default_space = 'mobilenet_v2'
    default_act = dict(type='ReLU6')

    def __init__(self, stage_blocks=None, space=None, out_indices=(1, 2, 4, 7), frozen_stages=-1,
                 conv_cfg=None, norm_cfg=dict(type='BN'), act_cfg=None, norm_eval=False,
                 with_cp=False, init_cfg=None):
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg)
        self.space = space = get_space(space or self.default_space)
        if space.family not in ('mobilenet_v2', 'mnasnet'):
            raise ValueError(f'{type(self).__name__} needs a mobilenet_v2 or mnasnet space; '
                             f'space {space.name!r} is {space.family!r}')
        stage_blocks = space.validate(
            space.default_depths if stage_blocks is None else stage_blocks, allow_deeper=True)
        num_outputs = len(space.stages) + 1
        if not set(out_indices) <= set(range(num_outputs)):
            raise ValueError(f'out_indices={tuple(out_indices)}: allowed values are '
                             f'0..{num_outputs - 1} (layer1..layer{num_outputs - 1}, then conv2)')
        last_searched = max(i for i, stage in enumerate(space.stages) if stage.searchable)
        if max(out_indices, default=-1) < last_searched:
            raise ValueError(f'out_indices={tuple(out_indices)}: the highest index must be at '
                             f'least {last_searched} ({space.stages[last_searched].name}, the '
                             'last searched stage); layers past the highest are not built')
        if frozen_stages not in range(-1, num_outputs):
            raise ValueError(f'frozen_stages={frozen_stages}: allowed -1..{num_outputs - 1}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        conv_kwargs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                           act_cfg=act_cfg or self.default_act)

        channels = space.stem_channels
        self.conv1 = ConvModule(3, channels, 3, stride=2, padding=1, **conv_kwargs)
        self.layers = []
        # Only up to the last output: what follows it would run for nothing and, under DDP,
        # leave parameters without a gradient ("Expected to have finished reduction ...").
        built = max(self.out_indices) + 1
        depths = list(space.layer_depths(stage_blocks).values())[:built]
        for stage, depth in zip(space.stages, depths):
            blocks = []
            for i in range(depth):
                blocks.append(InvertedResidual(
                    channels, stage.channels, mid_channels=int(round(channels * stage.expand_ratio)),
                    kernel_size=stage.kernel_size, stride=stage.stride if i == 0 else 1,
                    with_expand_conv=stage.expand_ratio != 1, with_cp=with_cp, **conv_kwargs))
                channels = stage.channels
            self.add_module(stage.name, nn.Sequential(*blocks))
            self.layers.append(stage.name)
        if built > len(space.stages):
            self.conv2 = ConvModule(channels, space.head_channels, 1, **conv_kwargs)
            self.layers.append('conv2')
        self.stage_blocks = stage_blocks
        self._freeze_stages()

    @property
    def layer_names(self) -> list:
        return self.layers

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x)  # (B, 32, H/2, W/2)

    def _freeze_stages(self):
        frozen = [self.conv1] if self.frozen_stages >= 0 else []
        # layers past the last output are not built: freezing them is moot
        frozen += [getattr(self, name) for name in self.layers[:max(self.frozen_stages, 0)]]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False


class AllocatedMnasNet(AllocatedMobileNetV2):
    """MnasNet-B0 (torchvision's ``mnasnet1_0``) with ``stage_blocks`` in ``layer2``…``layer6``.

    Same arguments and names as :class:`AllocatedMobileNetV2`; the stages have MnasNet's expand
    ratios and 3×3/5×5 kernels and the activation is ReLU. Standard depths: (3, 3, 3, 2, 4);
    paper 004's Transfer-MnasNet is (3, 3, 2, 3, 4).
    """
    default_space = 'mnasnet'
    default_act = dict(type='ReLU')


class _MobileSuperNet(SuperNetMixin):
    def __init__(self, space=None, **kwargs):
        space = get_space(space or self.default_space)
        super().__init__(stage_blocks=space.max_depths, space=space, **kwargs)
        self._init_allocation(kwargs)


class MobileNetV2SuperNet(_MobileSuperNet, AllocatedMobileNetV2):
    """MobileNetV2 single-path super-network (max depths [5, 6, 8, 7, 7], paper 004 Sec. 4.1).

    Example:
        >>> import numpy as np
        >>> supernet = MobileNetV2SuperNet()
        >>> supernet.sample_allocation(np.random.default_rng(0))
        (5, 4, 5, 2, 3)
    """
    subnet_class = AllocatedMobileNetV2


class MnasNetSuperNet(_MobileSuperNet, AllocatedMnasNet):
    """MnasNet-B0 single-path super-network (max depths [5, 6, 8, 7, 7])."""
    subnet_class = AllocatedMnasNet
