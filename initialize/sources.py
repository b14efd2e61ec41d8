"""Pretrained networks as sources of a warm start (:mod:`initialize.warm_start`): a spec, a file or
a module read into the key names of the project's backbones.

A spec is ``torchvision:NAME[:WEIGHTS][=PATH]``, ``timm:NAME[=PATH]`` or a checkpoint path:
torchvision / timm weights (ResNet, MobileNetV2, MnasNet), an mmpretrain classifier or mmdet
detector (``backbone.*``), or a subnet or super-network of this project. Keys are renamed by
:mod:`initialize.convert`; a classifier travels as ``head.fc.*`` (mmpretrain's ``LinearClsHead``);
every key left out is listed in :attr:`Source.ignored`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from torch import nn

from common.checkpoint import read_checkpoint

from .convert import (
    convert_mmpretrain_mobilenet_v2,
    convert_timm_mobilenet,
    convert_torchvision_mnasnet,
    convert_torchvision_mobilenet_v2,
)

LIBRARIES = ('torchvision', 'timm')
BLOCK_KEY = re.compile(r'(layer\d+)\.(\d+)\.')
# Classifier tensors of the layouts below -> the head of the project's classifier configs
# (mmpretrain's LinearClsHead).
_HEADS = ('head.fc.', 'fc.', 'classifier.1.', 'classifier.')
# layout name, how to recognise it, block family, key conversion to the space's names
_LAYOUTS = (
    ('torchvision mobilenet_v2', 'features.1.conv.0.0.weight', 'inverted_residual',
     convert_torchvision_mobilenet_v2),
    ('torchvision mnasnet', 'layers.0.weight', 'inverted_residual', convert_torchvision_mnasnet),
    ('timm mobilenetv2 / mnasnet', 'conv_stem.weight', 'inverted_residual',
     convert_timm_mobilenet),
    ('mmpretrain mobilenet_v2', 'layer1.0.conv.0.conv.weight', 'inverted_residual',
     convert_mmpretrain_mobilenet_v2),
    ('resnet (torchvision / timm / mmdet / mmpretrain / archtransfer)', 'layer1.0.conv1.weight',
     'resnet', None),
    ('mobilenet (mmdet / archtransfer)', 'layer1.0.depthwise_conv.conv.weight',
     'inverted_residual', None),
)


@dataclass
class Source:
    """A pretrained network's weights in the space's key names.

    ``origin`` maps each converted key to the source's own key (for the manifest); ``ignored``
    lists the source's keys that are neither backbone nor classifier; ``module`` is the network
    as its library builds it (``None`` for a bare file), which a transfer method needs when the
    source does not fit the space.
    """
    name: str
    state_dict: dict
    layout: str
    family: str
    origin: dict
    head: dict = field(default_factory=dict)
    ignored: list = field(default_factory=list)
    module: nn.Module | None = None

    @property
    def depths(self) -> dict:
        """``{stage: sorted block indices}`` of the source."""
        blocks: dict = {}
        for key in self.state_dict:
            match = BLOCK_KEY.match(key)
            if match:
                blocks.setdefault(match[1], set()).add(int(match[2]))
        return {stage: sorted(indices) for stage, indices in sorted(blocks.items())}


def parse_source(text: str) -> dict:
    """``'torchvision:NAME[:WEIGHTS][=PATH]'``, ``'timm:NAME[=PATH]'`` or a checkpoint ``PATH``
    → ``dict(library, model, weights, path)``; checks the file and the model name exist."""
    library, _, rest = text.partition(':')
    if library not in LIBRARIES:
        library, rest = None, text
    model, _, path = rest.partition('=') if library else ('', '', rest)
    weights = None
    if library == 'torchvision':
        model, _, weights = model.partition(':')
    if path and not Path(path).expanduser().is_file():
        maybe_library = re.fullmatch(r'([a-z_]+):[^/]*', text) if not library else None
        hint = (f' (nor a library: {maybe_library[1]!r} is none of {", ".join(LIBRARIES)})'
                if maybe_library else '')
        raise FileNotFoundError(f'--from {text}: no such checkpoint file {path}{hint}')
    if library and model not in _list_models(library):
        raise ValueError(f'--from {text}: {library} has no model {model!r}')
    return dict(library=library, model=model, weights=weights or None, path=path or None)


def read_source(source) -> Source:
    """A :class:`Source` from a spec (:func:`parse_source`), an ``nn.Module`` or a state dict."""
    if isinstance(source, Source):
        return source
    module = meta = None
    if isinstance(source, nn.Module):
        name, module, state = type(source).__name__, source, source.state_dict()
    elif isinstance(source, Mapping):
        name, state = 'state_dict', dict(source)
    else:
        name, spec = str(source), parse_source(str(source))
        if spec['library']:
            module = _build_library_model(spec, name)
            state = module.state_dict()
        else:
            state, meta = read_checkpoint(Path(spec['path']).expanduser())
    backbone, head, outside = _split_head(state)
    for layout, marker, family, convert in _LAYOUTS:
        if marker in backbone:
            converted, unknown = convert(backbone) if convert else (backbone, {})
            break
    else:
        raise ValueError(f'{name}: no ResNet, MobileNetV2 or MnasNet layout recognised (keys '
                         f'{", ".join(list(backbone)[:3])}, ...); a network of another family '
                         'is filled only by a transfer method from a network its library builds '
                         '(--fill dpiat|hmt|tli --from timm:NAME=PATH)')
    origin_of = {id(value): key for key, value in state.items()}
    origin = {key: origin_of.get(id(value), key) for key, value in (*converted.items(),
                                                                    *head.items())}
    source = Source(name, dict(converted), layout, family, origin, head,
                    sorted([*unknown, *outside]), module)
    if meta and meta.get('space'):
        source.layout += f", space {meta['space']!r}"
    return source


def checked_sources(sources) -> list:
    """``sources`` as a list, every spec checked by :func:`parse_source` before any is read."""
    sources = [sources] if isinstance(sources, (str, Path, nn.Module, Mapping)) else list(sources)
    if not sources:
        raise ValueError('sources: give at least one pretrained network')
    for source in sources:
        if isinstance(source, (str, Path)):
            parse_source(str(source))
    return sources


def _split_head(state: Mapping) -> tuple:
    """``(backbone tensors, {'head.fc.weight': ..., 'head.fc.bias': ...}, other keys)`` of a
    state dict of a classifier, a detector (``backbone.*``) or a bare network."""
    if any(key.startswith('backbone.') for key in state):
        backbone = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    else:
        backbone = dict(state)
    head, found = {}, {}
    for prefix in _HEADS:
        found = {k: v for k, v in state.items() if k in (f'{prefix}weight', f'{prefix}bias')}
        if found:
            head = {f'head.fc.{k[len(prefix):]}': v for k, v in found.items()}
            for key in found:
                backbone.pop(key, None)
            break
    outside = [k for k in state if not k.startswith('backbone.') and k not in found
               and k not in backbone]
    return backbone, head, outside


def _list_models(library: str) -> set:
    if library == 'timm':
        import timm
        return set(timm.list_models(pretrained=False)) | set(timm.list_models(pretrained=True))
    import torchvision
    return set(torchvision.models.list_models())


def _build_library_model(spec: dict, text: str) -> nn.Module:
    try:
        if spec['library'] == 'timm':
            import timm
            model = timm.create_model(spec['model'], pretrained=spec['path'] is None)
        else:
            import torchvision
            weights = spec['weights'] or (None if spec['path'] else 'DEFAULT')
            model = torchvision.models.get_model(spec['model'], weights=weights)
    except OSError as err:  # no hub reachable (URLError, connection errors)
        raise ValueError(f'--from {text}: could not download the weights ({err}); download '
                         f'them where the hub is reachable and give the file: '
                         f'{spec["library"]}:{spec["model"]}=PATH') from None
    if spec['path']:
        state, _ = read_checkpoint(Path(spec['path']).expanduser())
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise ValueError(f'--from {text}: the file is not a {spec["model"]} state dict '
                             f'({str(err).splitlines()[1].strip()})') from None
    return model.eval()
