"""Exporting a subnet: writing it in another library's format, so that it leaves the project.

A subnet comes from a super-network checkpoint and an allocation, or from a subnet checkpoint
(``tools/extract_subnet.py``; its meta records the space and the allocation):
:func:`load_subnet` reads either into a :class:`Subnet` (backbone weights, the classifier head
if the checkpoint holds one, the backbone options). :func:`export_subnet` writes it as

* ``'torchvision'``: a state dict of ``torchvision.models.resnet.ResNet(block, layers)`` (ResNet
  spaces with torchvision's stem and widths), of ``MobileNetV2(inverted_residual_setting=...)``
  (the ``mobilenet_v2`` space, any allocation) or of ``MNASNet(1.0)`` (the ``mnasnet`` space at
  torchvision's fixed depths (3, 3, 3, 2, 4) only);
* ``'timm'``: a state dict of ``timm.models.resnet.ResNet(block=..., layers=...)`` (ResNet
  spaces; timm also takes ``deep_stem`` and ``avg_down``, as its ``stem_type='deep'`` and
  ``avg_down=True``);
* ``'onnx'``: opset :data:`ONNX_OPSET`, dynamic batch axis, written by torch's TorchScript-based
  exporter (``dynamo=False``: it needs neither onnxscript nor a network);
* ``'torchscript'``: ``torch.jit.trace`` of the backbone (and head), loadable with
  ``torch.jit.load`` in a process that never imports archtransfer.

Without a head, the torchvision / timm model is loaded with its classifier removed
(``model.fc = torch.nn.Identity()``, timm's ``num_classes=0``) and returns pooled features; the
ONNX and TorchScript files return the backbone's feature maps (``out_indices``, as mmdet's
backbones), or the logits when there is a head. :func:`config_snippet` is the mmdet /
mmpretrain config that builds the subnet. What a target cannot express is refused by
:class:`ExportRefused`, one line saying why.
"""
from __future__ import annotations

import dataclasses
import re
import warnings
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from common.checkpoint import atomic_save, read_checkpoint

from .build import backbone_cfg, build_backbone
from .spaces import SearchSpace, format_allocation, get_space
from .subnet import extract_subnet

FORMATS = ('torchvision', 'timm', 'onnx', 'torchscript')
# Opset 17 (2022): onnxruntime runs it since 1.12, TensorRT since 8.6; the tests run the files in
# the installed onnxruntime.
ONNX_OPSET = 17
SUFFIXES = {'torchvision': '.torchvision.pth', 'timm': '.timm.pth', 'onnx': '.onnx',
            'torchscript': '.torchscript.pt'}

# AllocatedResNet options that change no weight and no eval-mode output: ignored by the export
_TRAINING_ONLY = ('frozen_stages', 'norm_eval', 'with_cp', 'zero_init_residual', 'init_cfg',
                  'out_indices')
_STANDARD_RESNETS = {('bottleneck', (3, 4, 6, 3)): 50, ('bottleneck', (3, 4, 23, 3)): 101,
                     ('bottleneck', (3, 8, 36, 3)): 152, ('basic', (2, 2, 2, 2)): 18,
                     ('basic', (3, 4, 6, 3)): 34}
_MNASNET_DEPTHS = (3, 3, 3, 2, 4)  # torchvision's MNASNet builds these, whatever the arguments


class ExportRefused(ValueError):
    """The target format cannot express this subnet (a one-line reason)."""


@dataclasses.dataclass
class Subnet:
    """A subnet ready to export.

    Attributes:
        space, allocation: what it is.
        backbone_state: the backbone's state dict (keys without prefix).
        head_state: ``{'weight', 'bias'}`` of a linear classifier on the globally average-pooled
            last feature map (mmpretrain's ``ImageClassifier`` with ``GlobalAveragePooling`` and
            ``LinearClsHead``: ``head.fc.*``), or ``None``.
        options: the backbone's constructor options (``deep_stem``, ``avg_down``, ``style``,
            ``norm_cfg``, ...), those read from the weights included.
        source, prefix: the checkpoint it came from and where its backbone keys start there.
        notes: what was left out (a detector's neck and heads, a head of another kind).
    """
    space: SearchSpace
    allocation: tuple
    backbone_state: dict
    head_state: dict | None = None
    options: dict = dataclasses.field(default_factory=dict)
    source: str | None = None
    prefix: str = ''
    notes: list = dataclasses.field(default_factory=list)
    _model: nn.Module | None = dataclasses.field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return format_allocation(self.allocation)

    def backbone(self) -> nn.Module:
        """The subnet backbone (``Allocated*``) with its weights, in eval mode; a
        :class:`ValueError` (one line) where the weights do not fit it."""
        model = build_backbone(self.space, self.allocation, **self.options)
        what = f'{type(model).__name__}(space={self.space.name!r}, stage_blocks=' \
               f'{self.allocation}, {self.options})'
        try:
            result = model.load_state_dict(self.backbone_state, strict=False)
        except RuntimeError as err:  # size mismatches
            detail = next((line.strip() for line in str(err).splitlines()
                           if 'size mismatch' in line), str(err).splitlines()[0])
            raise ValueError(f'the weights do not fit {what}: {detail} (wrong --space or '
                             'backbone options?)') from None
        if result.missing_keys or result.unexpected_keys:
            first = (f'missing {result.missing_keys[0]}' if result.missing_keys
                     else f'unexpected {result.unexpected_keys[0]}')
            raise ValueError(
                f'the weights do not fit {what}: {first} ({len(result.missing_keys)} missing, '
                f'{len(result.unexpected_keys)} unexpected; wrong --space or backbone options?)')
        return model.eval()

    def model(self) -> nn.Module:
        """Backbone and head in one module (what ONNX and TorchScript files hold), eval mode;
        built once."""
        if self._model is None:
            head = None
            if self.head_state is not None:
                weight = self.head_state['weight']
                head = nn.Linear(weight.shape[1], weight.shape[0])
                head.load_state_dict(self.head_state)
            self._model = _Exported(self.backbone(), head).eval()
        return self._model


class _Exported(nn.Module):
    """The backbone's feature maps, or the logits of the linear head on the pooled last one."""

    def __init__(self, backbone: nn.Module, head: nn.Module | None = None):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, x):
        features = self.backbone(x)
        if self.head is None:
            return features
        return self.head(torch.flatten(F.adaptive_avg_pool2d(features[-1], 1), 1))


# ------------------------------------------------------------------------------------ reading


def load_subnet(checkpoint, allocation=None, *, space=None, prefix: str | None = None,
                head: bool = True, options: dict | None = None) -> Subnet:
    """The subnet of a super-network checkpoint at ``allocation``, or of a subnet checkpoint.

    Args:
        checkpoint: a super-network checkpoint (``tools/train_supernet.py``) or a subnet
            checkpoint (``tools/extract_subnet.py``), of a classifier, detector or bare backbone.
        allocation: required for a super-network; a subnet checkpoint's meta records its own
            (another one is refused).
        space: default: the checkpoint's meta.
        prefix: where the backbone's keys start; default: the meta's, else detected.
        head: keep a linear classifier head (``head.fc.*``) if the checkpoint holds one.
        options: backbone options the weights were trained with (``style='caffe'``, ``norm_cfg``,
            ...); ``deep_stem`` and ``avg_down`` are read from the weights.
    """
    state_dict, meta = read_checkpoint(checkpoint)
    recorded = meta.get('allocation')
    if recorded is not None:
        recorded = tuple(int(d) for d in recorded)
        if allocation is not None and tuple(allocation) != recorded:
            raise ValueError(f'{checkpoint} is the subnet {format_allocation(recorded)} (its '
                             f'meta); it has no weights for {format_allocation(allocation)}: '
                             'leave out the allocation, or export from the super-network')
        allocation = recorded
    if allocation is None:
        raise ValueError(f'{checkpoint} is a super-network checkpoint (its meta records no '
                         'allocation): pass the allocation to export, e.g. --allocation 1,3,7,5')
    if space is None:
        if 'space' not in meta:
            raise ValueError(f'{checkpoint} does not record its search space (meta["space"]); '
                             'pass it (e.g. --space resnet_bottleneck)')
        space = meta['space']
    if prefix is None:
        prefix = meta.get('prefix')
    subnet = subnet_from_state_dict(state_dict, space, allocation, prefix=prefix, head=head,
                                    options=options)
    subnet.source = str(checkpoint)
    return subnet


def subnet_from_state_dict(state_dict, space, allocation, prefix: str | None = None,
                           head: bool = True, options: dict | None = None) -> Subnet:
    """:func:`load_subnet` for a state dict in memory (a super-network's or a subnet's)."""
    space = get_space(space)
    allocation = space.validate(allocation, allow_deeper=True)
    if prefix is None:
        from .extract import detect_prefix
        prefix = detect_prefix(state_dict, space)
    deepest = space.clipped(allocation)
    if deepest != allocation:  # a grown subnet's checkpoint holds its own blocks; take them all
        cut = dict(state_dict)
    else:
        cut = extract_subnet(state_dict, allocation, space, prefix)
    backbone_state = OrderedDict((k[len(prefix):], v) for k, v in cut.items()
                                 if k.startswith(prefix))
    if not backbone_state:
        raise ValueError(f'no backbone weights under prefix {prefix!r}')
    options = dict(options or {})
    unknown = sorted(set(options) - set(_option_names(space)))
    if unknown:
        raise ValueError(f'unknown backbone options {unknown} for space {space.name!r}; '
                         f'allowed: {", ".join(_option_names(space))}')
    subnet = Subnet(space, allocation, backbone_state, options=options, prefix=prefix)
    if space.family == 'resnet':
        for name, found in (('deep_stem', any(k.startswith('stem.') for k in backbone_state)),
                            ('avg_down', any(re.match(r'layer\d+\.0\.downsample\.2\.', k)
                                             for k in backbone_state))):
            if options.get(name, found) != found:
                raise ValueError(f'{name}={options[name]} contradicts the weights '
                                 f'({name} is {found} in them)')
            options[name] = found
        stem = backbone_state.get('stem.0.weight', backbone_state.get('conv1.weight'))
        if stem is not None and stem.shape[1] != 3:
            options.setdefault('in_channels', int(stem.shape[1]))
    else:
        options.setdefault('out_indices', _mobile_out_indices(space, backbone_state))
    subnet.options = {k: v for k, v in options.items()
                      if not (k in ('deep_stem', 'avg_down') and v is False)}
    if head:
        subnet.head_state = _linear_head(state_dict, prefix, subnet)
    return subnet


def _option_names(space) -> tuple:
    import inspect

    from .build import supernet_class
    params = inspect.signature(supernet_class(space).subnet_class.__init__).parameters
    return tuple(n for n in params if n not in ('self', 'stage_blocks', 'space', 'unknown'))


def _mobile_out_indices(space, state) -> tuple:
    """mmdet's outputs up to the last layer the weights hold (a detector's lack ``conv2``)."""
    names = [s.name for s in space.stages] + ['conv2']
    built = max(i for i, name in enumerate(names) if any(k.startswith(f'{name}.') for k in state))
    return tuple(sorted({i for i in (1, 2, 4) if i < built} | {built}))


def _linear_head(state_dict, prefix: str, subnet: Subnet):
    """``head.fc.*`` of an ImageClassifier whose neck has no weights, if it fits the backbone."""
    if not prefix.endswith('backbone.'):
        return None
    root = prefix[:-len('backbone.')]
    others = sorted({k[len(root):].split('.')[0] for k in state_dict
                     if k.startswith(root) and not k.startswith(prefix)})
    head_keys = {k[len(root) + len('head.'):] for k in state_dict if k.startswith(f'{root}head.')}
    if not others:
        return None
    if others != ['head'] or head_keys != {'fc.weight', 'fc.bias'}:
        subnet.notes.append(f'left out {", ".join(others)} (only a linear classifier head, '
                            'head.fc, on pooled features is exported)')
        return None
    weight = state_dict[f'{root}head.fc.weight']
    channels = _last_channels(subnet)
    if weight.ndim != 2 or weight.shape[1] != channels:
        subnet.notes.append(f'left out head.fc: {tuple(weight.shape)} does not take the '
                            f"backbone's {channels} channels")
        return None
    return {'weight': weight, 'bias': state_dict[f'{root}head.fc.bias']}


def _last_channels(subnet: Subnet) -> int:
    space = subnet.space
    if space.family == 'resnet':
        return space.stages[-1].channels * (4 if space.stages[-1].block == 'bottleneck' else 1)
    last = max(subnet.options['out_indices'])
    return space.head_channels if last == len(space.stages) else space.stages[last].channels


# ------------------------------------------------------------------------------------ checks


def check_format(subnet: Subnet, fmt: str) -> None:
    """Raise :class:`ExportRefused` (one line: why) where ``fmt`` cannot express ``subnet``."""
    if fmt not in FORMATS:
        raise ValueError(f'format {fmt!r}: allowed {", ".join(FORMATS)}')
    if fmt == 'onnx':
        _need('onnx', 'onnx')
    if fmt in ('onnx', 'torchscript'):
        return
    space, what = subnet.space, f'{fmt} cannot express the subnet'
    if fmt == 'timm' and space.family != 'resnet':
        raise ExportRefused(f'{what}: the timm target is its ResNet; timm builds MobileNetV2 / '
                            "MnasNet with its EfficientNet builder, whose layers differ: use "
                            'torchvision, onnx or torchscript')
    if space.family == 'mobilenet_v2':
        _check_mobile(subnet, what, 'ReLU6')
    elif space.family == 'mnasnet':
        _check_mobile(subnet, what, 'ReLU')
        if subnet.allocation != _MNASNET_DEPTHS:
            raise ExportRefused(f"{what}: torchvision's MNASNet has the fixed depths "
                                f'{format_allocation(_MNASNET_DEPTHS)}, this subnet is '
                                f'{subnet.name}: use onnx or torchscript')
    else:
        _check_resnet(subnet, fmt, what)


def _check_resnet(subnet: Subnet, fmt: str, what: str):
    space, options = subnet.space, subnet.options
    if space.small_input:
        raise ExportRefused(f'{what}: space {space.name!r} has a small-input stem (3x3 stride-1 '
                            f"convolution, no max-pool); {fmt}'s ResNet has a 7x7 stride-2 stem "
                            'and a max-pool: use onnx or torchscript')
    widths = tuple(s.channels for s in space.stages)
    if (space.stem_channels, widths) != (64, (64, 128, 256, 512)) or \
            tuple(s.stride for s in space.stages) != (1, 2, 2, 2) or \
            len({s.block for s in space.stages}) != 1:
        raise ExportRefused(f'{what}: space {space.name!r} has stem {space.stem_channels} and '
                            f"stage widths {widths}; {fmt}'s ResNet has 64 and "
                            '(64, 128, 256, 512) with strides (1, 2, 2, 2): use onnx or '
                            'torchscript')
    unsupported = []
    if fmt == 'torchvision':
        unsupported += [f'{name}=True' for name in ('deep_stem', 'avg_down') if options.get(name)]
        if options.get('in_channels', 3) != 3:
            unsupported.append(f'in_channels={options["in_channels"]}')
    if options.get('style', 'pytorch') != 'pytorch':
        unsupported.append(f"style={options['style']!r} (stride in the first 1x1)")
    norm = dict(options.get('norm_cfg') or dict(type='BN'))
    norm_type = norm.pop('type', None)
    norm.pop('requires_grad', None)
    norm.pop('momentum', None)  # training only
    if norm_type not in ('BN', 'BN2d', 'SyncBN') or norm:
        unsupported.append(f'norm_cfg={options["norm_cfg"]}')
    for name, plain in (('conv_cfg', (None, {'type': 'Conv2d'}, {'type': 'Conv'})),
                        ('dcn', (None,)), ('plugins', (None, []))):
        if options.get(name) not in plain:
            unsupported.append(f'{name}={options[name]}')
    if any(d != 1 for d in options.get('dilations') or ()):
        unsupported.append(f'dilations={tuple(options["dilations"])}')
    if unsupported:
        raise ExportRefused(f"{what}: {fmt}'s ResNet has no {', '.join(unsupported)}: use onnx "
                            'or torchscript')


def _check_mobile(subnet: Subnet, what: str, activation: str):
    space, options = subnet.space, subnet.options
    standard = get_space(space.family)
    if _shape(space.stages) != _shape(standard.stages) or (space.stem_channels,
                                                            space.head_channels) != \
            (standard.stem_channels, standard.head_channels):
        raise ExportRefused(f'{what}: space {space.name!r} is not torchvision\'s '
                            f'{space.family} (widths, kernels or expand ratios differ): use '
                            'onnx or torchscript')
    if len(space.stages) not in options['out_indices']:
        raise ExportRefused(f'{what}: the weights have no conv2 (the 1x1 head convolution of '
                            f"torchvision's {space.family}; a detector's backbone drops it): "
                            'use onnx or torchscript')
    act = options.get('act_cfg') or {'type': activation}
    norm = dict(options.get('norm_cfg') or dict(type='BN'))
    norm.pop('requires_grad', None)
    norm.pop('momentum', None)
    if act != {'type': activation} or norm.pop('type', None) not in ('BN', 'BN2d', 'SyncBN') \
            or norm or options.get('conv_cfg') is not None:
        raise ExportRefused(f"{what}: torchvision's {space.family} has {activation} and "
                            'BatchNorm only: use onnx or torchscript')


def _shape(stages) -> list:
    """A stage table without its depths."""
    return [(s.name, s.block, s.channels, s.stride, s.expand_ratio, s.kernel_size, s.searchable)
            for s in stages]


def _need(module: str, package: str):
    import importlib.util
    if importlib.util.find_spec(module) is None:
        raise ExportRefused(f'the {module} format needs the {package} package: '
                            f'pip install {package} (requirements.txt)')


# ------------------------------------------------------------------------------------ writing


def export_subnet(subnet: Subnet, fmt: str, out, *, input_size: int | None = None,
                  verify: bool = True) -> dict:
    """Write ``subnet`` in format ``fmt`` (one of :data:`FORMATS`) to ``out``.

    Args:
        input_size: image side of the traced / verified input; default 224 (32 for small-input
            spaces). ONNX keeps it fixed and the batch axis dynamic.
        verify: for torchvision / timm, check the loaded model's output against the subnet's.

    Returns:
        ``{'format', 'path', 'load'}``; ``load`` is the Python that loads the file.
    """
    check_format(subnet, fmt)
    out = Path(out)
    if subnet.source is not None and out.resolve() == Path(subnet.source).resolve():
        raise ValueError(f'{out} is the checkpoint the subnet comes from; choose another path')
    size = input_size or (32 if subnet.space.small_input else 224)
    example = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    model = subnet.model()
    if fmt in ('torchvision', 'timm'):
        target, load = (_torchvision if fmt == 'torchvision' else _timm)(subnet)
        if verify:
            _verify(model, target.eval(), example, fmt)
        atomic_save(target.state_dict(), out)
        load = load.replace('PATH', repr(str(out)))
    elif fmt == 'onnx':
        _write_onnx(model, example, out)
        load = ("import onnxruntime; session = onnxruntime.InferenceSession("
                f"{str(out)!r}); outputs = session.run(None, {{'input': images}})")
    else:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            traced = torch.jit.trace(model, example, check_trace=False)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + '.tmp')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # torch.jit's FutureWarning (torch.export instead)
            torch.jit.save(traced, str(tmp))
        tmp.replace(out)
        load = f'import torch; model = torch.jit.load({str(out)!r})'
    return dict(format=fmt, path=str(out), load=load)


def _verify(model, target, example, fmt):
    with torch.no_grad():
        expected, got = model(example), target(example)
        if isinstance(expected, tuple):  # no head: the target returns pooled features
            expected = torch.flatten(F.adaptive_avg_pool2d(expected[-1], 1), 1)
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-4, atol=1e-4):
        raise RuntimeError(f'{fmt} export: the loaded model does not reproduce the subnet '
                           f'(shapes {tuple(got.shape)} / {tuple(expected.shape)})')


def _load_strict(target: nn.Module, state: dict):
    target.load_state_dict(state, strict=True)
    return target


def _head_keys(subnet: Subnet, name: str) -> dict:
    if subnet.head_state is None:
        return {}
    return {f'{name}.weight': subnet.head_state['weight'],
            f'{name}.bias': subnet.head_state['bias']}


def _num_classes(subnet: Subnet) -> int:
    return 0 if subnet.head_state is None else int(subnet.head_state['weight'].shape[0])


def _torchvision(subnet: Subnet):
    """The torchvision model, loaded strictly, and the code that builds and loads it."""
    import torchvision.models as tvm
    n = _num_classes(subnet)
    no_head = '' if n else 'model.{}= torch.nn.Identity(); '
    family = subnet.space.family
    if family == 'resnet':
        block = 'Bottleneck' if subnet.space.stages[0].block == 'bottleneck' else 'BasicBlock'
        layers = list(subnet.allocation)
        target = tvm.resnet.ResNet(getattr(tvm.resnet, block), layers, num_classes=n or 1000)
        if not n:
            target.fc = nn.Identity()
        state = dict(subnet.backbone_state, **_head_keys(subnet, 'fc'))
        load = (f'import torch; from torchvision.models.resnet import ResNet, {block}; '
                f'model = ResNet({block}, {layers}{f", num_classes={n}" if n else ""}); '
                + no_head.format('fc ') + 'model.load_state_dict(torch.load(PATH))')
    elif family == 'mobilenet_v2':
        setting = [[s.expand_ratio, s.channels, d, s.stride] for s, d in zip(
            subnet.space.stages, subnet.space.layer_depths(subnet.allocation).values())]
        target = tvm.MobileNetV2(num_classes=n or 1000, inverted_residual_setting=setting)
        if not n:
            target.classifier = nn.Identity()
        state = dict(_mobilenet_v2_keys(subnet), **_head_keys(subnet, 'classifier.1'))
        load = ('import torch; from torchvision.models import MobileNetV2; model = MobileNetV2('
                f'{f"num_classes={n}, " if n else ""}inverted_residual_setting={setting}); '
                + no_head.format('classifier ') + 'model.load_state_dict(torch.load(PATH))')
    else:
        target = tvm.MNASNet(1.0, num_classes=n or 1000)
        if not n:
            target.classifier = nn.Identity()
        state = OrderedDict(_mnasnet_keys(subnet), **_head_keys(subnet, 'classifier.1'))
        state._metadata = OrderedDict({'': {'version': 2}})  # torchvision's MNASNet asks
        load = (f'import torch; from torchvision.models import MNASNet; model = MNASNet(1.0'
                f'{f", num_classes={n}" if n else ""}); ' + no_head.format('classifier ')
                + 'model.load_state_dict(torch.load(PATH))')
    return _load_strict(target, state), load


def _timm(subnet: Subnet):
    from timm.models import resnet as timm_resnet
    n = _num_classes(subnet)
    block = 'Bottleneck' if subnet.space.stages[0].block == 'bottleneck' else 'BasicBlock'
    layers = list(subnet.allocation)
    kwargs = {}
    state = OrderedDict()
    for key, value in subnet.backbone_state.items():
        stem = re.match(r'stem\.(\d+)\.(.*)', key)
        if stem:  # mmdet's deep stem (conv, bn, relu) x 3 -> timm's conv1 (7 layers) + bn1
            index = int(stem[1])
            key = f'bn1.{stem[2]}' if index == 7 else f'conv1.{index}.{stem[2]}'
        state[key] = value
    state.update(_head_keys(subnet, 'fc'))
    if subnet.options.get('deep_stem'):
        kwargs.update(stem_type='deep', stem_width=subnet.space.stem_channels // 2)
    if subnet.options.get('avg_down'):
        kwargs['avg_down'] = True
    if subnet.options.get('in_channels', 3) != 3:
        kwargs['in_chans'] = subnet.options['in_channels']
    target = timm_resnet.ResNet(block=getattr(timm_resnet, block), layers=layers,
                                num_classes=n, **kwargs)
    args = ''.join(f', {k}={v!r}' for k, v in kwargs.items())
    load = (f'import torch; from timm.models.resnet import ResNet, {block}; '
            f'model = ResNet(block={block}, layers={layers}, num_classes={n}{args}); '
            'model.load_state_dict(torch.load(PATH))')
    return _load_strict(target, state), load



def _mobile_blocks(subnet: Subnet):
    """``(layer name, block index, flat index from 1, stage)`` of every inverted residual."""
    flat = 1
    depths = subnet.space.layer_depths(subnet.allocation)
    for stage in subnet.space.stages:
        for j in range(depths[stage.name]):
            yield stage, j, flat
            flat += 1


def _rename(state, old: str, new: str, out: dict):
    for key, value in state.items():
        if key.startswith(f'{old}.'):
            out[new + key[len(old):]] = value


def _mobilenet_v2_keys(subnet: Subnet) -> OrderedDict:
    state, out = subnet.backbone_state, OrderedDict()
    _rename(state, 'conv1.conv', 'features.0.0', out)
    _rename(state, 'conv1.bn', 'features.0.1', out)
    flat = 1
    for stage, j, flat in _mobile_blocks(subnet):
        old, new = f'{stage.name}.{j}', f'features.{flat}.conv'
        parts = (['expand_conv'] if stage.expand_ratio != 1 else []) + ['depthwise_conv']
        for i, part in enumerate(parts):
            _rename(state, f'{old}.{part}.conv', f'{new}.{i}.0', out)
            _rename(state, f'{old}.{part}.bn', f'{new}.{i}.1', out)
        _rename(state, f'{old}.linear_conv.conv', f'{new}.{len(parts)}', out)
        _rename(state, f'{old}.linear_conv.bn', f'{new}.{len(parts) + 1}', out)
    _rename(state, 'conv2.conv', f'features.{flat + 1}.0', out)
    _rename(state, 'conv2.bn', f'features.{flat + 1}.1', out)
    return out


def _mnasnet_keys(subnet: Subnet) -> OrderedDict:
    state, out = subnet.backbone_state, OrderedDict()
    _rename(state, 'conv1.conv', 'layers.0', out)
    _rename(state, 'conv1.bn', 'layers.1', out)
    _rename(state, 'layer1.0.depthwise_conv.conv', 'layers.3', out)
    _rename(state, 'layer1.0.depthwise_conv.bn', 'layers.4', out)
    _rename(state, 'layer1.0.linear_conv.conv', 'layers.6', out)
    _rename(state, 'layer1.0.linear_conv.bn', 'layers.7', out)
    for stage, j, _ in _mobile_blocks(subnet):
        index = int(stage.name[len('layer'):])
        if index == 1:
            continue
        old, new = f'{stage.name}.{j}', f'layers.{index + 6}.{j}.layers'
        for part, conv, bn in (('expand_conv', 0, 1), ('depthwise_conv', 3, 4),
                               ('linear_conv', 6, 7)):
            _rename(state, f'{old}.{part}.conv', f'{new}.{conv}', out)
            _rename(state, f'{old}.{part}.bn', f'{new}.{bn}', out)
    _rename(state, 'conv2.conv', 'layers.14', out)
    _rename(state, 'conv2.bn', 'layers.15', out)
    return out


def _write_onnx(model: nn.Module, example, out: Path):
    with torch.no_grad():
        outputs = model(example)
    names = ['logits'] if torch.is_tensor(outputs) else \
        [f'feat{i}' for i in range(len(outputs))]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + '.tmp')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the legacy exporter's DeprecationWarning
        torch.onnx.export(model, (example,), str(tmp), dynamo=False, opset_version=ONNX_OPSET,
                          input_names=['input'], output_names=names,
                          dynamic_axes={name: {0: 'batch'} for name in ['input', *names]})
    tmp.replace(out)


# ------------------------------------------------------------------------------------ configs


def config_snippet(subnet: Subnet, checkpoint: str | None = None,
                   prefix: str | None = None) -> str:
    """The mmdet / mmpretrain config lines that build the subnet backbone from ``checkpoint``
    (default: the one it came from): the project's ``Allocated*`` class, and mmdet's /
    mmpretrain's own class where the depths are a standard network's."""
    checkpoint = checkpoint or subnet.source or 'SUBNET.pth'
    prefix = subnet.prefix if prefix is None else prefix
    init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint))
    if prefix:
        init_cfg['prefix'] = prefix
    mobile = subnet.space.family != 'resnet'  # its out_indices decide which layers exist
    options = {k: v for k, v in subnet.options.items()
               if k not in _TRAINING_ONLY or (k == 'out_indices' and mobile)}
    cfg = backbone_cfg(subnet.space, subnet.allocation, **options, init_cfg=init_cfg)
    lines = ["custom_imports = dict(imports=['engine.registry'], allow_failed_imports=False)",
             f'model = dict(backbone={_format(cfg)})']
    space = subnet.space
    depth = None
    if space.family == 'resnet' and not space.small_input:
        try:
            check_format(subnet, 'timm')  # mmdet's ResNet has timm's options and more
            depth = _STANDARD_RESNETS.get((space.stages[0].block, subnet.allocation))
        except ExportRefused:
            pass
    if depth is not None:
        own = dict(type='ResNet', depth=depth,
                   **{k: v for k, v in options.items() if k != 'in_channels'},
                   init_cfg=init_cfg)
        if 'in_channels' in options:
            own['in_channels'] = options['in_channels']
        lines += [f"# or mmdet's / mmpretrain's own ResNet-{depth} (the depths are its own; "
                  'no custom_imports):', f'model = dict(backbone={_format(own)})']
    elif space.family == 'mobilenet_v2' and subnet.allocation == space.default_depths and \
            _shape(space.stages) == _shape(get_space('mobilenet_v2').stages):
        own = dict(type='MobileNetV2', out_indices=options['out_indices'], init_cfg=init_cfg)
        lines += ["# or mmdet's / mmpretrain's own MobileNetV2 (the depths are its own; no "
                  'custom_imports):', f'model = dict(backbone={_format(own)})']
    return '\n'.join(lines)


def _format(cfg: dict) -> str:
    return 'dict(' + ', '.join(f'{k}={_format(v) if isinstance(v, dict) else repr(v)}'
                               for k, v in cfg.items()) + ')'
