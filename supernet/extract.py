"""Extracting subnets from a super-network checkpoint: as a backbone with inherited weights, or as
a subnet checkpoint file, with the FLOPs and parameters its meta records.

A subnet checkpoint keeps the whole model's keys (e.g. ``backbone.*``, ``neck.*``, ``head.*`` of a
classifier) minus the blocks past each stage's depth, so the same file serves

* ``load_from=subnet.pth`` — fine-tune the whole subnet on the source (paper 004, Sec. 3.4);
* ``init_cfg=dict(type='Pretrained', checkpoint='subnet.pth', prefix='backbone.')`` — start a
  target model's backbone from it (CUB classifier, Faster-RCNN).

A subnet deeper than the super-network (what ``greedy_search(..., beyond_max=N)`` may choose)
needs weight transfer for its extra blocks; that lives above both packages, in
:func:`initialize.grow.extract_subnet_beyond_max`, which writes its file with
:func:`write_subnet_checkpoint`.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import torch

from common import deprecation
from common.checkpoint import atomic_save, load_checkpoint_safely

from .build import backbone_cfg, build_backbone
from .spaces import get_space
from .subnet import extract_subnet

__getattr__ = deprecation.renamed(__name__, {'export_child': 'extract_subnet_checkpoint',
                                             'child_backbone': 'subnet_backbone',
                                             'write_child': 'write_subnet_checkpoint'})


def detect_prefix(state_dict, space) -> str:
    """``'backbone.'`` for classifier/detector checkpoints, ``''`` for bare backbones."""
    first_stage = space.searched[0].name
    for prefix in ('', 'backbone.', 'module.backbone.'):
        if any(key.startswith(f'{prefix}{first_stage}.0.') for key in state_dict):
            return prefix
    raise KeyError(f'no keys of stage {first_stage!r} found (looked for "{first_stage}.0.", '
                   f'"backbone.{first_stage}.0."); pass prefix= explicitly')


def load_supernet_checkpoint(checkpoint: str | Path, space=None, prefix: str | None = None):
    """``(state_dict, space, prefix)`` of a super-network (or subnet) checkpoint, of a classifier,
    a detector or a bare backbone.

    Args:
        space: the super-network's space; default: the one recorded in the checkpoint's meta by
            ``DepthSamplingHook``.
        prefix: where the backbone's keys start; default: detected.
    """
    loaded = load_checkpoint_safely(checkpoint, map_location='cpu')
    state_dict = loaded.get('state_dict', loaded)
    meta = loaded.get('meta', {}) if 'state_dict' in loaded else {}
    if space is None:
        if 'space' not in meta:
            raise ValueError(f'{checkpoint} does not record its search space (meta["space"]); '
                             'pass space= (e.g. --space resnet_bottleneck)')
        space = meta['space']
    space = get_space(space)
    prefix = detect_prefix(state_dict, space) if prefix is None else prefix
    return state_dict, space, prefix


def subnet_backbone(state_dict, space, allocation, prefix: str = ''):
    """The subnet backbone of ``allocation`` (in the space) with its weights cut from a
    super-network's ``state_dict``, whose backbone keys start with ``prefix``."""
    subnet = extract_subnet(state_dict, allocation, space, prefix)
    backbone = build_backbone(space, allocation)
    backbone.load_state_dict({key[len(prefix):]: value for key, value in subnet.items()
                              if key.startswith(prefix)})  # the backbone's keys only
    return backbone


def flop_analyzer(model, input_shape: tuple):
    """mmengine's ``FlopAnalyzer`` of ``model`` on a zero input of ``input_shape`` (C, H, W),
    without its warnings about the operators it does not count (residual additions,
    activations, BatchNorm), which would fill every extraction's and search's output."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, torch.zeros((1,) + tuple(input_shape)))
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def count_complexity(space, allocation, input_size: int) -> dict:
    """FLOPs (multiply-accumulates) and parameters of the subnet (rather than
    mmengine's ``get_model_complexity_info``, which also counts activations, draws its input
    from the global RNG and warns per uncounted operator)."""
    from mmengine.analysis import parameter_count
    model = build_backbone(space, allocation).eval()
    flops = flop_analyzer(model, (3, input_size, input_size)).total()
    return dict(flops=int(flops), params=int(parameter_count(model)['']), input_size=input_size)


def extract_subnet_checkpoint(checkpoint: str | Path, allocation, out: str | Path, space=None,
                              prefix: str | None = None, input_size: int | None = None) -> dict:
    """Write the subnet of ``allocation`` cut from a super-network ``checkpoint`` to ``out``.

    Args:
        allocation: one depth per searched stage, within the super-network's maximum depths
            (:class:`~supernet.spaces.AllocationError` otherwise).
        space: the super-network's space; default: the one recorded in the checkpoint's meta by
            ``DepthSamplingHook``.
        prefix: where the backbone's keys start; default: detected.
        input_size: image side for the FLOPs in the meta; default 224 (32 for small-input spaces).

    Returns:
        The backbone config of the subnet, with ``init_cfg`` pointing at ``out``.
    """
    _refuse_overwrite(checkpoint, out)
    state_dict, space, prefix = load_supernet_checkpoint(checkpoint, space, prefix)
    allocation = space.validate(allocation)
    subnet_state = extract_subnet(state_dict, allocation, space, prefix)
    return write_subnet_checkpoint(subnet_state, space, allocation, prefix, out, checkpoint,
                                   input_size)


def write_subnet_checkpoint(subnet_state, space, allocation, prefix: str, out, source_checkpoint,
                            input_size: int | None = None,
                            transferred: dict | None = None) -> dict:
    """Write ``subnet_state`` with the meta every subnet checkpoint carries (space, allocation,
    prefix, source, FLOPs and parameters, and ``transferred``: ``None`` for inherited weights,
    else how the extra blocks were made); return the backbone config that loads it."""
    _refuse_overwrite(source_checkpoint, out)
    input_size = input_size or (32 if space.small_input else 224)
    subnet_meta = dict(space=space.name, allocation=list(allocation), prefix=prefix,
                       source_checkpoint=str(source_checkpoint),
                       time=datetime.datetime.now().isoformat(), transferred=transferred,
                       **count_complexity(space, allocation, input_size))
    atomic_save({'state_dict': subnet_state, 'meta': subnet_meta}, out)
    return backbone_cfg(space, allocation, init_cfg=dict(type='Pretrained', checkpoint=str(out),
                                                         prefix=prefix))


def _refuse_overwrite(source, out):
    if Path(source).resolve() == Path(out).resolve():
        raise ValueError(f'out={out} is the super-network checkpoint it is cut from; '
                         'choose another output path')
