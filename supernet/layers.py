"""The backbones' building blocks in plain PyTorch, with mmcv's and mmdet's module and parameter
names: ``ConvModule`` (``conv``, ``bn``, ``activate``), mmdet's ``Bottleneck`` / ``BasicBlock``
(``conv1``, ``bn1``, ..., ``downsample``) and ``InvertedResidual`` (``expand_conv``,
``depthwise_conv``, ``linear_conv``), so checkpoints move between them and mmdet's backbones key
for key (``tests/test_compat.py`` checks outputs, names and initial weights against mmdet's).

Why not import mmcv's and mmdet's own: ``mmcv.cnn`` imports ``mmengine.runner`` and
``mmdet.models`` imports all of mmdet and mmpretrain, so a model-level user (``init_from``, a
search over ``evaluate``) would pay seconds of imports and the engines' registries for a
convolution. The common layers (``Conv2d``, BatchNorm, SyncBN, GroupNorm, ReLU, ReLU6) are built
here; any other ``conv_cfg`` / ``norm_cfg`` / ``act_cfg`` type (DCN, an mmcv norm, a plugin) is
passed on to mmcv's builders, imported only then, so every mmcv layer a config names still works.
"""
from __future__ import annotations

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule

# mmcv's abbreviations: the name a norm layer is registered under ('bn1', 'gn', ...)
_NORMS = {'BN': ('bn', nn.BatchNorm2d), 'BN2d': ('bn', nn.BatchNorm2d),
          'SyncBN': ('bn', nn.SyncBatchNorm), 'GN': ('gn', nn.GroupNorm)}
_ACTIVATIONS = {'ReLU': nn.ReLU, 'ReLU6': nn.ReLU6}
_CONVS = ('Conv', 'Conv2d')


def build_norm(cfg: dict, channels: int, postfix='') -> tuple:
    """``(name, layer)`` as ``mmcv.cnn.build_norm_layer``: ``cfg['type']`` and its options,
    ``requires_grad`` (default True); the name is the type's abbreviation plus ``postfix``."""
    cfg = dict(cfg)
    kind = cfg.pop('type', None)
    if kind not in _NORMS:
        from mmcv.cnn import build_norm_layer  # mmcv's other norms (and its error messages)
        return build_norm_layer(dict(cfg, type=kind), channels, postfix=postfix)
    requires_grad = cfg.pop('requires_grad', True)
    abbreviation, layer_class = _NORMS[kind]
    if kind == 'GN':
        if 'num_groups' not in cfg:
            raise KeyError(f'norm_cfg={dict(cfg, type=kind)}: GN needs num_groups')
        layer = layer_class(num_channels=channels, **cfg)
    else:
        layer = layer_class(channels, **cfg)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return f'{abbreviation}{postfix}', layer


def build_conv(cfg: dict | None, *args, **kwargs) -> nn.Module:
    """A convolution as ``mmcv.cnn.build_conv_layer``: ``nn.Conv2d`` for ``None`` / ``Conv`` /
    ``Conv2d``, mmcv's builder for any other type (DCN, ...)."""
    if cfg is None or cfg.get('type') in _CONVS:
        return nn.Conv2d(*args, **{k: v for k, v in (cfg or {}).items() if k != 'type'}, **kwargs)
    from mmcv.cnn import build_conv_layer
    return build_conv_layer(cfg, *args, **kwargs)


def build_activation(cfg: dict) -> nn.Module:
    """An activation as mmcv's ``ConvModule`` builds it (in place where the type allows)."""
    if cfg['type'] in _ACTIVATIONS:
        options = {k: v for k, v in cfg.items() if k != 'type'}
        return _ACTIVATIONS[cfg['type']](**{'inplace': True, **options})
    from mmcv.cnn import build_activation_layer
    return build_activation_layer(cfg)


class ConvModule(nn.Module):
    """Convolution, norm, activation, as mmcv's ``ConvModule`` (order ``conv, norm, act``): the
    convolution has a bias only without a norm."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 conv_cfg=None, norm_cfg=None, act_cfg=dict(type='ReLU')):
        super().__init__()
        self.conv = build_conv(conv_cfg, in_channels, out_channels, kernel_size, stride=stride,
                               padding=padding, groups=groups, bias=norm_cfg is None)
        self.norm_name = None
        if norm_cfg is not None:
            self.norm_name, norm = build_norm(norm_cfg, out_channels)
            self.add_module(self.norm_name, norm)
        self.activate = None if act_cfg is None else build_activation(act_cfg)
        self.act_cfg = act_cfg
        self.init_weights()

    def init_weights(self):
        """mmcv's: Kaiming-normal (fan-out) convolution, norm at 1 and 0; mmengine calls it
        again after a backbone's ``init_cfg``, as it does mmcv's."""
        if not hasattr(self.conv, 'init_weights'):  # mmcv's DCN initialises itself
            leaky = self.act_cfg is not None and self.act_cfg['type'] == 'LeakyReLU'
            slope = self.act_cfg.get('negative_slope', 0.01) if leaky else 0
            nn.init.kaiming_normal_(self.conv.weight, a=slope, mode='fan_out',
                                    nonlinearity='leaky_relu' if leaky else 'relu')
            if self.conv.bias is not None:
                nn.init.zeros_(self.conv.bias)
        if self.norm_name is not None:
            nn.init.ones_(self.norm.weight)
            nn.init.zeros_(self.norm.bias)

    @property
    def norm(self):
        return getattr(self, self.norm_name) if self.norm_name else None

    def forward(self, x):
        x = self.conv(x)
        if self.norm_name is not None:
            x = self.norm(x)
        return x if self.activate is None else self.activate(x)


def _checkpointed(forward, x, with_cp: bool):
    """``forward(x)``, recomputed in the backward pass with ``with_cp`` (saves memory)."""
    if with_cp and x.requires_grad:
        return cp.checkpoint(forward, x, use_reentrant=False)
    return forward(x)


class BasicBlock(BaseModule):
    """ResNet's two 3×3 convolutions (ResNet-18/34), as mmdet's ``BasicBlock``."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None, style='pytorch',
                 with_cp=False, conv_cfg=None, norm_cfg=dict(type='BN'), dcn=None, plugins=None,
                 init_cfg=None):
        super().__init__(init_cfg)
        if dcn is not None or plugins is not None:
            raise ValueError('BasicBlock: dcn and plugins need the bottleneck block '
                             '(as mmdet\'s BasicBlock)')
        self.norm1_name, norm1 = build_norm(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm(norm_cfg, planes, postfix=2)
        self.conv1 = build_conv(conv_cfg, inplanes, planes, 3, stride=stride, padding=dilation,
                                dilation=dilation, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv(conv_cfg, planes, planes, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample, self.with_cp = downsample, with_cp

    norm1 = property(lambda self: getattr(self, self.norm1_name))
    norm2 = property(lambda self: getattr(self, self.norm2_name))

    def _residual(self, x):
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return out + (x if self.downsample is None else self.downsample(x))

    def forward(self, x):
        return self.relu(_checkpointed(self._residual, x, self.with_cp))


class Bottleneck(BaseModule):
    """ResNet's 1×1, 3×3, 1×1 bottleneck (ResNet-50 and deeper), as mmdet's ``Bottleneck``:
    ``style='pytorch'`` strides in the 3×3, ``'caffe'`` in the first 1×1; ``dcn`` replaces the
    3×3 with an mmcv deformable convolution, ``plugins`` insert mmcv plugin layers after
    ``conv1`` / ``conv2`` / ``conv3`` (both built by mmcv, imported then)."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None, style='pytorch',
                 with_cp=False, conv_cfg=None, norm_cfg=dict(type='BN'), dcn=None, plugins=None,
                 init_cfg=None):
        super().__init__(init_cfg)
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"style={style!r}: allowed 'pytorch', 'caffe'")
        conv1_stride, conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.norm1_name, norm1 = build_norm(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm(norm_cfg, planes, postfix=2)
        self.norm3_name, norm3 = build_norm(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv(conv_cfg, inplanes, planes, 1, stride=conv1_stride, bias=False)
        self.add_module(self.norm1_name, norm1)
        dcn = dict(dcn) if dcn is not None else None
        if dcn is not None and not dcn.pop('fallback_on_stride', False):
            conv_cfg2 = dcn
        else:
            conv_cfg2 = conv_cfg
        self.conv2 = build_conv(conv_cfg2, planes, planes, 3, stride=conv2_stride,
                                padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv(conv_cfg, planes, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample, self.with_cp = downsample, with_cp
        self.plugin_names = {position: self._make_plugins(plugins or [], position, channels)
                             for position, channels in (('after_conv1', planes),
                                                        ('after_conv2', planes),
                                                        ('after_conv3', planes * 4))}

    norm1 = property(lambda self: getattr(self, self.norm1_name))
    norm2 = property(lambda self: getattr(self, self.norm2_name))
    norm3 = property(lambda self: getattr(self, self.norm3_name))

    def _make_plugins(self, plugins: list, position: str, channels: int) -> list:
        names = []
        for plugin in plugins:
            if plugin.get('position') != position:
                continue
            from mmcv.cnn import build_plugin_layer
            cfg = dict(plugin['cfg'])
            name, layer = build_plugin_layer(cfg, in_channels=channels,
                                             postfix=cfg.pop('postfix', ''))
            if hasattr(self, name):
                raise ValueError(f'plugins: duplicate name {name!r}: give each a postfix')
            self.add_module(name, layer)
            names.append(name)
        return names

    def _plugins(self, x, position: str):
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def _residual(self, x):
        out = self._plugins(self.relu(self.norm1(self.conv1(x))), 'after_conv1')
        out = self._plugins(self.relu(self.norm2(self.conv2(out))), 'after_conv2')
        out = self._plugins(self.norm3(self.conv3(out)), 'after_conv3')
        return out + (x if self.downsample is None else self.downsample(x))

    def forward(self, x):
        return self.relu(_checkpointed(self._residual, x, self.with_cp))


class InvertedResidual(BaseModule):
    """MobileNetV2's block, as mmdet's ``InvertedResidual``: a 1×1 expansion (unless
    ``with_expand_conv=False``), a depthwise ``kernel_size`` convolution, a linear 1×1 projection,
    and the identity added when the shapes allow."""

    def __init__(self, in_channels, out_channels, mid_channels, kernel_size=3, stride=1,
                 with_expand_conv=True, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), with_cp=False, init_cfg=None):
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'stride={stride}: allowed 1, 2')
        if not with_expand_conv and mid_channels != in_channels:
            raise ValueError(f'mid_channels={mid_channels}: without the expansion it must be '
                             f'in_channels ({in_channels})')
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_expand_conv, self.with_cp = with_expand_conv, with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if with_expand_conv:
            self.expand_conv = ConvModule(in_channels, mid_channels, 1, act_cfg=act_cfg, **common)
        self.depthwise_conv = ConvModule(mid_channels, mid_channels, kernel_size, stride=stride,
                                         padding=kernel_size // 2, groups=mid_channels,
                                         act_cfg=act_cfg, **common)
        self.linear_conv = ConvModule(mid_channels, out_channels, 1, act_cfg=None, **common)

    def _block(self, x):
        out = self.expand_conv(x) if self.with_expand_conv else x
        out = self.linear_conv(self.depthwise_conv(out))
        return x + out if self.with_res_shortcut else out

    def forward(self, x):
        return _checkpointed(self._block, x, self.with_cp)
