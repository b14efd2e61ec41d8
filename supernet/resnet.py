"""ResNet with any number of blocks per stage, and the ResNet single-path super-network.

Both are mmdet's ``ResNet``: same stem, blocks, ``out_indices``, ``frozen_stages``, ``norm_eval``,
``init_cfg``, DCN, plugins and checkpointing, and the same parameter names, so a torchvision or
mmdet ResNet-50 state dict loads into ``AllocatedResNet(stage_blocks=(3, 4, 6, 3))`` unchanged and
into the super-network as its prefix. Only the block counts come from a search space.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck
from mmdet.models.backbones.resnet import ResNet as _MMDetResNet

from .dynamic import StagedBackbone, SuperNetMixin
from .spaces import get_space

_BLOCKS = {'basic': BasicBlock, 'bottleneck': Bottleneck}
# Taken from the space; passing them as well would contradict it.
_SPACE_ARGS = ('depth', 'base_channels', 'stem_channels', 'num_stages', 'strides')


class AllocatedResNet(StagedBackbone, _MMDetResNet):
    """A ResNet whose stage ``i`` has ``stage_blocks[i]`` blocks (a child of the super-network).

    Args:
        stage_blocks (Sequence[int] | None): blocks per stage, e.g. ``(1, 3, 7, 5)`` for paper
            004's Transfer-ResNet50. ``None`` gives the space's default (ResNet-50: (3, 4, 6, 3)).
            Depths beyond the space's maximum are allowed: this is a plain backbone.
        space (str | SearchSpace): gives the block type, widths, strides and stem.
            Default: ``'resnet_bottleneck'``.
        norm_eval (bool): keep BatchNorm in eval mode while training. Default: False (mmdet's
            detection configs set it to True explicitly).
        **kwargs: every other argument of mmdet's ``ResNet``: ``out_indices``, ``frozen_stages``,
            ``norm_cfg``, ``init_cfg``, ``style``, ``deep_stem``, ``dcn``, ``plugins``, ...

    Example:
        >>> import torch
        >>> model = AllocatedResNet(stage_blocks=(1, 3, 7, 5)).eval()
        >>> for out in model(torch.rand(1, 3, 64, 64)):
        ...     print(tuple(out.shape))
        (1, 256, 16, 16)
        (1, 512, 8, 8)
        (1, 1024, 4, 4)
        (1, 2048, 2, 2)
    """

    def __init__(self, stage_blocks=None, space='resnet_bottleneck', norm_eval=False, **kwargs):
        space = get_space(space)
        if space.family != 'resnet':
            raise ValueError(f'{type(self).__name__} needs a resnet space; space {space.name!r} '
                             f'is {space.family!r}')
        clashes = sorted(set(kwargs) & set(_SPACE_ARGS))
        if clashes:
            raise TypeError(f'{type(self).__name__}: {clashes} are set by the space '
                            f'{space.name!r}; pass stage_blocks= / space= instead')
        stage_blocks = space.validate(
            space.default_depths if stage_blocks is None else stage_blocks, allow_deeper=True)
        stages = space.stages
        if space.small_input and kwargs.get('deep_stem'):
            raise ValueError(f'space {space.name!r} has a small-input stem; deep_stem must be False')
        # mmdet's ResNet reads its block type and counts from ``arch_settings[depth]``; an
        # instance-level table lets it build any allocation with all of its features. Both are
        # set before nn.Module.__init__, which only adds to __dict__.
        self.space = space
        self.arch_settings = {'allocated': (_BLOCKS[stages[0].block], stage_blocks)}
        super().__init__(depth='allocated', base_channels=stages[0].channels,
                         stem_channels=space.stem_channels, num_stages=len(stages),
                         strides=tuple(s.stride for s in stages), norm_eval=norm_eval, **kwargs)

    def _make_stem_layer(self, in_channels, stem_channels):
        super()._make_stem_layer(in_channels, stem_channels)
        if self.space.small_input:
            # 3×3 stride-1 stem, no max-pool: keeps 28–64 px demo images from vanishing. Same
            # parameter names as the ImageNet stem (conv1, bn1), only the kernel differs.
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 3, stride=1,
                                          padding=1, bias=False)
            self.maxpool = nn.Identity()

    @property
    def layer_names(self) -> list:
        return self.res_layers

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)  # (B, stem, H/4, W/4); (B, stem, H, W) with a small-input stem

    def train(self, mode: bool = True):
        super().train(mode)  # mmdet's returns None; nn.Module's contract is to return self
        return self

    # mmdet's ResNet.forward runs every block; StagedBackbone's runs a prefix in super-networks.
    forward = StagedBackbone.forward


class ResNetSuperNet(SuperNetMixin, AllocatedResNet):
    """The ResNet single-path super-network: the space's deepest ResNet, run at an allocation.

    Args:
        space (str | SearchSpace): Default: ``'resnet_bottleneck'`` (max depths [8, 10, 36, 14]).
        **kwargs: as :class:`AllocatedResNet`.

    Example:
        >>> import torch
        >>> supernet = ResNetSuperNet('resnet_basic').eval()
        >>> supernet.set_allocation((1, 2, 3, 1))
        (1, 2, 3, 1)
        >>> child = supernet.get_subnet()
        >>> x = torch.rand(1, 3, 64, 64)
        >>> torch.allclose(supernet(x)[-1], child(x)[-1], atol=1e-5)
        True
    """
    static_class = AllocatedResNet

    def __init__(self, space='resnet_bottleneck', **kwargs):
        space = get_space(space)
        super().__init__(stage_blocks=space.max_depths, space=space, **kwargs)
        self._init_allocation(kwargs)
