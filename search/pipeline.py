"""The search pipeline behind ``tools/greedy_search.py``: fine-tune the super-network on the
target with depth sampling, greedy-search with an evaluator built from the same runner, and write
``search_log.jsonl``, ``result.json`` and ``chain.png`` to the work dir.

The config is an ordinary mmengine training config of the super-network model on the target
(train/val dataloaders, schedule) whose ``model.backbone.init_cfg`` points at the source
super-network checkpoint, plus ``search_cfg`` (every search setting, see
:mod:`search.settings`). :func:`check_search` validates all of it — settings, budget, checkpoint,
work dir — before :func:`run_search` builds anything heavy. With ``beyond_max > 0`` the log's
metadata holds the transfer method, so a resumed search never mixes scores of two methods.
"""
from __future__ import annotations

import copy
import os.path as osp
import warnings
from dataclasses import dataclass

import torch
from mmengine.config import Config
from mmengine.dist import barrier, get_dist_info

from common.checkpoint import atomic_save, load_checkpoint_safely
from supernet import get_space
from supernet.engine import supernet_meta
from supernet.engine.launch import build_runner

from .budgets import Budget, make_budget
from .engine import EVALUATORS, unwrapped
from .greedy import greedy_search
from .log import SearchLog
from .plot import plot_chain
from .result import SearchResult
from .settings import SearchSettings
from .transfer_candidates import TransferringEvaluator


@dataclass(frozen=True)
class SearchPlan:
    """What :func:`check_search` validated: everything a run needs, before it builds anything."""
    settings: SearchSettings
    budget: Budget
    checkpoint: str
    log_path: str


def supernet_checkpoint(cfg: Config) -> str | None:
    """The source super-network checkpoint: ``model.backbone.init_cfg.checkpoint``."""
    init = cfg.model.backbone.get('init_cfg') or {}
    return init.get('checkpoint') if isinstance(init, dict) else None


def set_supernet_checkpoint(cfg: Config, checkpoint: str):
    """``--checkpoint``: the backbone starts from ``checkpoint``'s ``backbone.*`` weights."""
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=checkpoint,
                                       prefix='backbone.')


def check_search(cfg: Config, resume: bool = False) -> SearchPlan:
    """Validate a search config before any heavy work; one-line errors name what is wrong."""
    settings = SearchSettings.from_cfg(cfg.get('search_cfg'))
    backbone = cfg.model.backbone
    if 'SuperNet' not in str(backbone.get('type', '')):
        raise ValueError(f'model.backbone.type={backbone.get("type")!r}: a search needs a '
                         'super-network backbone (ResNetSuperNet, MobileNetV2SuperNet, '
                         'MnasNetSuperNet)')
    space = get_space(backbone.get('space', 'resnet_bottleneck'))
    settings.require_budget()
    budget = make_budget(space, settings.budget['kind'], settings.budget['limit'])
    EVALUATORS.import_from_location()
    if EVALUATORS.get(settings.evaluator['type']) is None:
        raise ValueError(f'search_cfg.evaluator.type={settings.evaluator["type"]!r}: allowed '
                         f'{", ".join(sorted(EVALUATORS.module_dict))}')
    checkpoint = supernet_checkpoint(cfg)
    if not checkpoint:
        raise ValueError('no super-network checkpoint: give --checkpoint (or set '
                         'model.backbone.init_cfg.checkpoint)')
    meta = load_checkpoint_safely(checkpoint, 'cpu').get('meta') or {}
    if meta.get('space') not in (None, space.name):
        raise ValueError(f'--checkpoint {checkpoint} is a super-network of space '
                         f'{meta["space"]!r}; the config searches {space.name!r}')
    log_path = osp.join(cfg.work_dir, 'search_log.jsonl')
    if osp.exists(log_path) and not resume:
        raise FileExistsError(f'{log_path} exists: pass --resume to continue that search, or '
                              'another --work-dir')
    return SearchPlan(settings, budget, checkpoint, log_path)


def run_search(cfg: Config, resume: bool = False, launcher: str = 'none',
               progress: bool = True) -> SearchResult:
    """Check, fine-tune (optional), search, and write the search files into ``cfg.work_dir``.
    ``cfg`` is not modified."""
    cfg = copy.deepcopy(cfg)
    plan = check_search(cfg, resume)
    settings, budget = plan.settings, plan.budget
    runner = finetune_supernet(cfg, launcher=launcher, resume=resume)
    model = unwrapped(runner.model)
    space = model.backbone.space
    rank, _ = get_dist_info()
    meta = dict(space=space.name, checkpoint=osp.abspath(plan.checkpoint),
                config=osp.basename(cfg.filename or ''), finetune_epochs=settings.finetune_epochs,
                evaluator=settings.evaluator)
    if settings.beyond_max:  # transferred scores depend on the method: never mix two in one log
        meta['transfer_method'] = settings.transfer_method
    with torch.no_grad():
        evaluate = EVALUATORS.build(dict(settings.evaluator, runner=runner))
        if settings.beyond_max:
            evaluate = TransferringEvaluator(evaluate, settings.transfer_method)
        if rank == 0:  # the one writer; it also repairs a torn last line before the others read
            log = SearchLog(plan.log_path, meta=meta)
        barrier()
        if rank != 0:
            log = SearchLog(plan.log_path, meta=meta, read_only=True)
        result = greedy_search(space, budget, evaluate, log=log, progress=progress and rank == 0,
                               beyond_max=settings.beyond_max, beam=settings.beam)
    if rank == 0:
        result.save(osp.join(cfg.work_dir, 'result.json'))
        plot_chain(result, osp.join(cfg.work_dir, 'chain.png'),
                   title=f'greedy search on {space.name} ({budget.kind} <= {budget.limit:g})')
    return result


def finetune_supernet(cfg: Config, launcher: str = 'none', resume: bool = False):
    """The runner of a search config (its super-network starting from
    ``model.backbone.init_cfg``), fine-tuned on the target with depth sampling for
    ``search_cfg.finetune_epochs`` (0: not at all). The result is kept as
    ``work_dir/finetuned.pth``, which a later call loads instead of training again. The model is
    left in eval mode."""
    epochs = SearchSettings.from_cfg(cfg.get('search_cfg')).finetune_epochs
    if epochs:
        cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=epochs)
    runner = build_runner(cfg, launcher=launcher, resume='auto' if resume else None)
    _finetune(runner, epochs)
    return runner


def _finetune(runner, epochs: int):
    """Fine-tune on the target with depth sampling once; later runs load the result."""
    finetuned = osp.join(runner.work_dir, 'finetuned.pth')
    model = unwrapped(runner.model)
    if epochs and osp.exists(finetuned):
        runner.logger.info(f'loading the fine-tuned super-network from {finetuned}')
        model.load_state_dict(load_checkpoint_safely(finetuned, 'cpu')['state_dict'])
    elif epochs:
        runner.train()
        if get_dist_info()[0] == 0:
            # with the space in its meta, tools/extract_subnet.py can cut the children the
            # search scored out of it
            atomic_save({'state_dict': model.state_dict(), 'meta': supernet_meta(model)},
                        finetuned)
        barrier()
    else:
        warnings.warn('search_cfg.finetune_epochs=0: searching with the source weights; a new '
                      'target head stays untrained')
        model.init_weights()
    model.eval()
