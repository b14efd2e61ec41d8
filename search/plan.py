"""What a search run needs, checked before anything heavy is imported or built.

:func:`check_search` reads the config (its ``search_cfg``, backbone and checkpoint) and refuses,
in one line naming the key, the value and what is allowed: unknown or invalid settings, a budget
outside the space's range, a missing or unreadable checkpoint or one of another space (by its
meta), an existing search log without ``resume``. It imports no engine, so
``tools/greedy_search.py`` answers a typo in seconds and hands the plan to
:func:`engine.pipeline.run_search`, which checks the search log again inside its work-dir lock,
then what needs the models (the checkpoint's tensor shapes against the space, the evaluator and
its options). The checkpoint is read here once; the plan keeps its tensors' shapes only.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass

from common.checkpoint import load_checkpoint_safely
from supernet import SearchSpace, get_space

from .budgets import make_budget
from .settings import SearchSettings


@dataclass(frozen=True)
class SearchPlan:
    """What :func:`check_search` validated."""
    settings: SearchSettings
    space: SearchSpace
    checkpoint: str
    checkpoint_shapes: dict  # tensor name -> shape: what the models are checked against
    log_path: str


def supernet_checkpoint(cfg) -> str | None:
    """The source super-network checkpoint: ``model.backbone.init_cfg.checkpoint``."""
    init = cfg.model.backbone.get('init_cfg') or {}
    return init.get('checkpoint') if isinstance(init, dict) else None


def set_supernet_checkpoint(cfg, checkpoint: str):
    """``--checkpoint``: the backbone starts from ``checkpoint``'s ``backbone.*`` weights."""
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=checkpoint,
                                       prefix='backbone.')


def check_log(log_path: str, resume: bool):
    """An existing search log is continued only with ``resume``."""
    if osp.exists(log_path) and not resume:
        raise FileExistsError(f'{log_path} exists: pass --resume to continue that search, or '
                              'another --work-dir')


def check_search(cfg, resume: bool = False) -> SearchPlan:
    """Validate a search config before any heavy work (see the module doc)."""
    settings = SearchSettings.from_cfg(cfg.get('search_cfg'))
    backbone = cfg.model.backbone
    if 'SuperNet' not in str(backbone.get('type', '')):
        raise ValueError(f'model.backbone.type={backbone.get("type")!r}: a search needs a '
                         'super-network backbone (ResNetSuperNet, MobileNetV2SuperNet, '
                         'MnasNetSuperNet)')
    space = get_space(backbone.get('space', 'resnet_bottleneck'))
    settings.require_budget()
    if settings.budget['kind'] == 'blocks':  # other kinds count FLOPs: checked in run_search
        make_budget(space, 'blocks', settings.budget['limit'])
    checkpoint = supernet_checkpoint(cfg)
    if not checkpoint:
        raise ValueError('no super-network checkpoint: give --checkpoint (or set '
                         'model.backbone.init_cfg.checkpoint)')
    loaded = load_checkpoint_safely(checkpoint, 'cpu')
    meta = loaded.get('meta') or {}
    if meta.get('space') not in (None, space.name):
        raise ValueError(f'--checkpoint {checkpoint} is a super-network of space '
                         f'{meta["space"]!r}; the config searches {space.name!r}')
    log_path = osp.join(cfg.work_dir, 'search_log.jsonl')
    check_log(log_path, resume)
    state = loaded.get('state_dict', loaded)
    shapes = {k: tuple(v.shape) for k, v in state.items() if hasattr(v, 'shape')}
    return SearchPlan(settings, space, checkpoint, shapes, log_path)
