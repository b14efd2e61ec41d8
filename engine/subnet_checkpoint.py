"""The allocation travels with a subnet's weights: a config and the subnet checkpoint it loads
must name the same allocation.

A subnet checkpoint (``tools/extract_subnet.py``, :func:`supernet.extract.write_subnet_checkpoint`)
records its allocation and space in ``meta``. A config whose subnet backbone has another
``stage_blocks`` would load it partly (mmengine warns of missing / unexpected keys somewhere in
the log) and train a partly random backbone; :func:`check_subnet_allocation` refuses that in one
line before the runner is built, and gives a backbone that names no allocation the checkpoint's.
"""
from __future__ import annotations

import os.path as osp

from mmengine.logging import print_log

from common.checkpoint import load_checkpoint_safely
from supernet.models import SUPERNETS
from supernet.spaces import format_allocation

# the backbones that take stage_blocks= (AllocatedResNet, AllocatedMobileNetV2, ...)
SUBNET_TYPES = frozenset(s.subnet_class.__name__ for s in SUPERNETS.values())


def _type_name(backbone: dict) -> str:
    kind = backbone.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return name.rpartition('.')[2]  # 'mmpretrain.AllocatedResNet' -> 'AllocatedResNet'


def _checkpoints(cfg, backbone: dict) -> list:
    """``(where, path)`` of every local file the config loads into its backbone: its
    ``init_cfg`` of type ``Pretrained`` and ``load_from`` (URLs and missing files are mmengine's
    to report)."""
    init = backbone.get('init_cfg')
    found = [('model.backbone.init_cfg.checkpoint', i.get('checkpoint'))
             for i in (init if isinstance(init, (list, tuple)) else [init])
             if isinstance(i, dict) and i.get('type') == 'Pretrained']
    found.append(('load_from', cfg.get('load_from')))
    return [(where, osp.expanduser(str(path))) for where, path in found
            if path and osp.isfile(osp.expanduser(str(path)))]


def check_subnet_allocation(cfg) -> None:
    """Refuse a subnet backbone whose ``stage_blocks`` differ from the allocation recorded in a
    checkpoint it loads (``ValueError``: one line naming both allocations and the file); a
    backbone with ``stage_blocks`` ``None`` or absent takes the checkpoint's (logged). Files
    without an allocation in their meta (training checkpoints, super-networks, torchvision /
    timm weights) are not checked. ``cfg`` is changed in place."""
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or _type_name(backbone) not in SUBNET_TYPES:
        return
    for where, path in _checkpoints(cfg, backbone):
        checkpoint = load_checkpoint_safely(path, map_location='cpu')
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        recorded = meta.get('allocation') if isinstance(meta, dict) else None
        if recorded is None:
            continue
        recorded = tuple(int(d) for d in recorded)
        space = meta.get('space')
        named_space = backbone.get('space')
        if isinstance(space, str) and isinstance(named_space, str) and space != named_space:
            raise ValueError(f'model.backbone.space={named_space!r}, but {path} ({where}) is a '
                             f'subnet of the space {space!r}: set model.backbone.space={space!r}')
        given = backbone.get('stage_blocks')
        if given is None:
            backbone['stage_blocks'] = recorded
            print_log(f'model.backbone.stage_blocks: none given, the allocation '
                      f'{format_allocation(recorded)} recorded in {path} ({where})',
                      logger='current')
        elif tuple(int(d) for d in given) != recorded:
            raise ValueError(
                f'model.backbone.stage_blocks is {format_allocation(given)}, but {path} ({where}) '
                f'holds the subnet {format_allocation(recorded)}: it would load only partly and '
                f'train a partly random backbone; set model.backbone.stage_blocks='
                f'({",".join(map(str, recorded))}) or None (takes the checkpoint\'s), or load '
                f'the subnet checkpoint of {format_allocation(given)}')
