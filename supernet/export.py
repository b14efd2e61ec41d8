"""Child checkpoints: a super-network checkpoint cut down to one allocation (weight inheritance).

The child keeps the whole model's keys (e.g. ``backbone.*``, ``neck.*``, ``head.*`` of a
classifier) minus the blocks past each stage's depth, so the same file serves

* ``load_from=child.pth`` — fine-tune the whole child on the source (paper 004, Sec. 3.4);
* ``init_cfg=dict(type='Pretrained', checkpoint='child.pth', prefix='backbone.')`` — start a
  target model's backbone from it (CUB classifier, Faster-RCNN).
"""
from __future__ import annotations

import datetime
from pathlib import Path

from .engine.checkpoint import atomic_save, load_checkpoint_safely
from .spaces import get_space
from .subnet import backbone_cfg, build_backbone, extract_subnet


def detect_prefix(state_dict, space) -> str:
    """``'backbone.'`` for classifier/detector checkpoints, ``''`` for bare backbones."""
    first_stage = space.searched[0].name
    for prefix in ('', 'backbone.', 'module.backbone.'):
        if any(key.startswith(f'{prefix}{first_stage}.0.') for key in state_dict):
            return prefix
    raise KeyError(f'no keys of stage {first_stage!r} found (looked for "{first_stage}.0.", '
                   f'"backbone.{first_stage}.0."); pass prefix= explicitly')


def load_supernet_checkpoint(checkpoint: str | Path, space=None, prefix: str | None = None):
    """``(state_dict, space, prefix)`` of a super-network (or child) checkpoint, of a classifier,
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


def child_backbone(state_dict, space, allocation, prefix: str = ''):
    """The static backbone of ``allocation`` (in the space) with its weights cut from a
    super-network's ``state_dict``, whose backbone keys start with ``prefix``."""
    child = extract_subnet(state_dict, allocation, space, prefix)
    backbone = build_backbone(space, allocation)
    backbone.load_state_dict({key[len(prefix):]: value for key, value in child.items()
                              if key.startswith(prefix)})  # the backbone's keys only
    return backbone


def count_complexity(space, allocation, input_size: int) -> dict:
    """FLOPs (multiply-accumulates, mmengine.analysis) and parameters of the child backbone."""
    from mmengine.analysis import get_model_complexity_info
    model = build_backbone(space, allocation).eval()
    info = get_model_complexity_info(model, input_shape=(3, input_size, input_size),
                                     show_table=False, show_arch=False)
    return dict(flops=int(info['flops']), params=int(info['params']), input_size=input_size)


def grow_backbone(child, backbone, method: str = 'dpiat', **transfer_options) -> tuple:
    """Initialize ``backbone``, a static backbone of the same space as ``child`` but deeper in
    some stages, from ``child``: every tensor by :func:`transfer.transfer_weights` first, then the
    child's own tensors copied over exactly, so the blocks both have keep their weights and only
    the new blocks come from the transfer (DPIAT alone would spread the child's blocks over the
    deeper stage).

    Returns:
        ``(report, coverage)``: the transfer's report and the fraction of the new blocks'
        tensors it wrote.
    """
    from transfer import transfer_weights  # the transfer package is only needed here
    report = transfer_weights(child, backbone, method, **transfer_options)
    inherited = child.state_dict()
    unexpected = backbone.load_state_dict(inherited, strict=False).unexpected_keys
    if unexpected:  # cannot happen for a prefix of the same family; say so if it does
        raise RuntimeError(f'the child has tensors the deeper backbone lacks: {unexpected[:5]}')
    new = [r for r in report.records if r.target not in inherited and r.status != 'excluded']
    coverage = sum(r.status == 'transferred' for r in new) / len(new) if new else 1.0
    return report, coverage


def export_child(checkpoint: str | Path, allocation, out: str | Path, space=None,
                 prefix: str | None = None, input_size: int | None = None,
                 transfer_method: str = 'dpiat', **transfer_options) -> dict:
    """Write the child of ``allocation`` cut from a super-network ``checkpoint`` to ``out``.

    An allocation deeper than the super-network in some stage (one ``greedy_search(...,
    beyond_max=N)`` may return) is made as the search scored it: the deepest child inside it is
    cut out and the extra blocks are initialized from it by :func:`grow_backbone` with
    ``transfer_method``; the meta then records ``transferred = {'method', 'source',
    'coverage'}``.

    Args:
        space: the super-network's space; default: the one recorded in the checkpoint's meta by
            ``DepthSamplingHook``.
        prefix: where the backbone's keys start; default: detected.
        input_size: image side for the FLOPs in the meta; default 224 (32 for small-input spaces).
        transfer_method: 'dpiat', 'hmt' or 'tli', for the blocks past the super-network's depth.
        **transfer_options: passed to :func:`transfer.transfer_weights` (e.g. TLI's ``lam``).

    Returns:
        The backbone config of the child, with ``init_cfg`` pointing at ``out``.
    """
    state_dict, space, prefix = load_supernet_checkpoint(checkpoint, space, prefix)
    allocation = space.validate(allocation, allow_deeper=True)
    source = space.clipped(allocation)
    child_state = extract_subnet(state_dict, source, space, prefix)
    transferred = None
    if source != allocation:
        child_state, transferred = _grown_state(child_state, space, source, allocation, prefix,
                                                transfer_method, transfer_options)
    input_size = input_size or (32 if space.small_input else 224)
    child_meta = dict(space=space.name, allocation=list(allocation), prefix=prefix,
                      source_checkpoint=str(checkpoint), time=datetime.datetime.now().isoformat(),
                      transferred=transferred, **count_complexity(space, allocation, input_size))
    atomic_save({'state_dict': child_state, 'meta': child_meta}, out)
    return backbone_cfg(space, allocation, init_cfg=dict(type='Pretrained', checkpoint=str(out),
                                                         prefix=prefix))


def _grown_state(child_state, space, source, allocation, prefix, method, options) -> tuple:
    """``child_state`` (the model's keys at ``source``) with its backbone replaced by the one of
    ``allocation`` grown from it, and the meta's ``transferred`` entry."""
    backbone = build_backbone(space, allocation)
    _, coverage = grow_backbone(child_backbone(child_state, space, source, prefix), backbone,
                                method, **options)
    grown = {key: value for key, value in child_state.items() if not key.startswith(prefix)}
    grown.update((prefix + key, value) for key, value in backbone.state_dict().items())
    return grown, dict(method=method, source=list(source), coverage=round(coverage, 6))
