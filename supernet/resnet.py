"""ResNet with any number of blocks per stage, and the ResNet single-path super-network.

Both are mmdet's ``ResNet`` rebuilt on :mod:`supernet.layers` (plain PyTorch; why: that module's
doc): same arguments (stem, ``out_indices``, ``frozen_stages``, ``norm_eval``, ``init_cfg``,
``style``, ``deep_stem``, ``avg_down``, DCN, plugins, checkpointing), same parameter names and
initial weights, so a torchvision or mmdet ResNet-50 state dict loads into
``AllocatedResNet(stage_blocks=(3, 4, 6, 3))`` unchanged and into the super-network as its
prefix (``tests/test_compat.py``). Only the block counts come from a search space.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model import BaseModule, Sequential

from .dynamic import StagedBackbone, SuperNetMixin
from .layers import BasicBlock, Bottleneck, build_conv, build_norm
from .spaces import get_space

_BLOCKS = {'basic': BasicBlock, 'bottleneck': Bottleneck}
# mmdet's ResNet arguments taken from the space; passing them as well would contradict it.
_SPACE_ARGS = ('depth', 'base_channels', 'stem_channels', 'num_stages', 'strides')


class AllocatedResNet(StagedBackbone, BaseModule):
    """A ResNet whose stage ``i`` has ``stage_blocks[i]`` blocks (a subnet of the super-network).

    Args:
        stage_blocks (Sequence[int] | None): blocks per stage, e.g. ``(1, 3, 7, 5)`` for paper
            004's Transfer-ResNet50. ``None`` gives the space's default (ResNet-50: (3, 4, 6, 3)).
            Depths beyond the space's maximum are allowed: this is a plain backbone.
        space (str | SearchSpace): gives the block type, widths, strides and stem.
            Default: ``'resnet_bottleneck'``.
        norm_eval (bool): keep BatchNorm in eval mode while training. Default: False (mmdet's
            detection configs set it to True explicitly).
        in_channels, dilations, out_indices, style, deep_stem, avg_down, frozen_stages, conv_cfg,
        norm_cfg, dcn, stage_with_dcn, plugins, with_cp, zero_init_residual, init_cfg: as mmdet's
            ``ResNet`` (the widths, stem and strides come from the space).

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

    def __init__(self, stage_blocks=None, space='resnet_bottleneck', norm_eval=False,
                 in_channels=3, dilations=None, out_indices=None, style='pytorch',
                 deep_stem=False, avg_down=False, frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True), dcn=None, stage_with_dcn=None,
                 plugins=None, with_cp=False, zero_init_residual=True, init_cfg=None,
                 **unknown):
        if unknown:
            clashes = sorted(set(unknown) & set(_SPACE_ARGS))
            raise TypeError(f'{type(self).__name__}: {clashes} are set by the space '
                            f'{getattr(space, "name", space)!r}; '
                            'pass stage_blocks= / space= instead' if clashes else
                            f'{type(self).__name__}: unknown arguments {sorted(unknown)}')
        super().__init__(init_cfg)
        self.space = space = get_space(space)
        if space.family != 'resnet':
            raise ValueError(f'{type(self).__name__} needs a resnet space; space {space.name!r} '
                             f'is {space.family!r}')
        stages = space.stages
        num_stages = len(stages)
        self.stage_blocks = space.validate(
            space.default_depths if stage_blocks is None else stage_blocks, allow_deeper=True)
        if space.small_input and deep_stem:
            raise ValueError(f'space {space.name!r} has a small-input stem; deep_stem must be False')
        self.out_indices = tuple(range(num_stages) if out_indices is None else out_indices)
        if not set(self.out_indices) <= set(range(num_stages)):
            raise ValueError(f'out_indices={self.out_indices}: allowed values are '
                             f'0..{num_stages - 1}')
        if frozen_stages not in range(-1, num_stages + 1):
            raise ValueError(f'frozen_stages={frozen_stages}: allowed -1..{num_stages}')
        dilations = (1,) * num_stages if dilations is None else tuple(dilations)
        stage_with_dcn = (False,) * num_stages if stage_with_dcn is None else stage_with_dcn
        for name, value in (('dilations', dilations), ('stage_with_dcn', stage_with_dcn)):
            if len(value) != num_stages:
                raise ValueError(f'{name}={tuple(value)}: one per stage ({num_stages})')
        self.frozen_stages, self.norm_eval, self.deep_stem = frozen_stages, norm_eval, deep_stem
        self.block = _BLOCKS[stages[0].block]
        block_init_cfg = None
        if init_cfg is None:  # mmdet's: Kaiming convolutions, unit norms, zero last norms
            self.init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                             dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
            if zero_init_residual:
                last = 'norm3' if self.block is Bottleneck else 'norm2'
                block_init_cfg = dict(type='Constant', val=0, override=dict(name=last))
        self._make_stem_layer(in_channels, space.stem_channels, conv_cfg, norm_cfg)
        self.res_layers = []
        inplanes = space.stem_channels
        for i, (stage, depth) in enumerate(zip(stages, self.stage_blocks)):
            layer = self._make_res_layer(
                inplanes, stage.channels, depth, stride=stage.stride, avg_down=avg_down,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, dilation=dilations[i], style=style,
                with_cp=with_cp, dcn=dcn if stage_with_dcn[i] else None,
                plugins=_stage_plugins(plugins, i, num_stages), init_cfg=block_init_cfg)
            inplanes = stage.channels * self.block.expansion
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        self._freeze_stages()

    def _make_stem_layer(self, in_channels, stem_channels, conv_cfg, norm_cfg):
        if self.deep_stem:  # three 3×3 convolutions (ResNet-C), as mmdet's
            half = stem_channels // 2
            layers = []
            for cin, cout, stride in ((in_channels, half, 2), (half, half, 1),
                                      (half, stem_channels, 1)):
                layers += [build_conv(conv_cfg, cin, cout, 3, stride=stride, padding=1,
                                      bias=False), build_norm(norm_cfg, cout)[1], nn.ReLU(True)]
            self.stem = nn.Sequential(*layers)
        else:
            # a small-input space: 3×3 stride-1 stem, no max-pool, which keeps 28–64 px demo
            # images from vanishing (same names as the ImageNet stem, only the kernel differs)
            small = self.space.small_input
            self.conv1 = build_conv(conv_cfg, in_channels, stem_channels, 3 if small else 7,
                                    stride=1 if small else 2, padding=1 if small else 3,
                                    bias=False)
            self.norm1_name, norm1 = build_norm(norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = (nn.Identity() if self.space.small_input
                        else nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def _make_res_layer(self, inplanes, planes, depth, stride, avg_down, conv_cfg, norm_cfg,
                        **block_kwargs) -> Sequential:
        """A stage, as mmdet's ``ResLayer``: the first block strides and projects the
        identity (a strided 1×1 convolution, or average pooling and a 1×1 with ``avg_down``)."""
        channels = planes * self.block.expansion
        downsample = None
        if stride != 1 or inplanes != channels:
            pool = [nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)] \
                if avg_down else []
            downsample = nn.Sequential(*pool, build_conv(
                conv_cfg, inplanes, channels, 1, stride=1 if avg_down else stride, bias=False),
                build_norm(norm_cfg, channels)[1])
        blocks = [self.block(inplanes, planes, stride=stride, downsample=downsample,
                             conv_cfg=conv_cfg, norm_cfg=norm_cfg, **block_kwargs)]
        blocks += [self.block(channels, planes, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                              **block_kwargs) for _ in range(1, depth)]
        # mmengine's Sequential: its init_weights reaches the blocks' init_cfg (zero_init_residual)
        return Sequential(*blocks)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def layer_names(self) -> list:
        return self.res_layers

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)  # (B, stem, H/4, W/4); (B, stem, H, W) with a small-input stem

    def _freeze_stages(self):
        """As mmdet's: no gradients in the stem and ``layer1..frozen_stages``, and their norms in
        eval mode (the ImageNet stem's convolution, which has no mode, is left alone)."""
        if self.frozen_stages < 0:
            return
        layers = [getattr(self, name) for name in self.res_layers[:self.frozen_stages]]
        stem = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
        for module in stem + layers:
            for param in module.parameters():
                param.requires_grad = False
        for module in stem[-1:] + layers:
            module.eval()


def _stage_plugins(plugins, stage: int, num_stages: int):
    """The plugins of ``stage`` (mmdet's ``make_stage_plugins``): those whose ``stages`` flag it,
    or that name no stages."""
    if plugins is None:
        return None
    chosen = []
    for plugin in plugins:
        plugin = dict(plugin)
        stages = plugin.pop('stages', None)
        if stages is not None and len(stages) != num_stages:
            raise ValueError(f'plugins: stages={tuple(stages)} needs one flag per stage '
                             f'({num_stages})')
        if stages is None or stages[stage]:
            chosen.append(plugin)
    return chosen


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
        >>> subnet = supernet.get_subnet()
        >>> x = torch.rand(1, 3, 64, 64)
        >>> torch.allclose(supernet(x)[-1], subnet(x)[-1], atol=1e-5)
        True
    """
    subnet_class = AllocatedResNet

    def __init__(self, space='resnet_bottleneck', **kwargs):
        space = get_space(space)
        super().__init__(stage_blocks=space.max_depths, space=space, **kwargs)
        self._init_allocation(kwargs)
