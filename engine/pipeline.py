"""The search pipeline behind ``tools/greedy_search.py``: fine-tune the super-network on the
target with depth sampling, greedy-search with an evaluator built from the same runner, and write
``search_log.jsonl``, ``result.json`` and ``chain.png`` to the work dir.

The config is an ordinary mmengine training config of the super-network model on the target
(train/val dataloaders, schedule) whose ``model.backbone.init_cfg`` points at the source
super-network checkpoint, plus ``search_cfg`` (every search setting, see
:mod:`search.settings`). :func:`check_search` validates all of it — settings, budget, checkpoint,
work dir — before :func:`run_search` builds anything heavy, and :func:`check_models` the
evaluator's options, names and values, before the fine-tuning. With ``beyond_max > 0`` the log's
metadata holds the transfer method, so a resumed search never mixes scores of two methods. It also
holds the number of processes (``world_size``): recalibration batches do not depend on it
(:mod:`engine.evaluators`), so a search resumed on another number is continued, with a warning
that its scores agree with the earlier ones up to floating-point rounding.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import json
import os
import os.path as osp
import warnings

import torch
from mmengine.config import Config
from mmengine.dist import barrier, broadcast_object_list, get_dist_info

from common.checkpoint import atomic_save, load_checkpoint_safely
from common.launcher import launcher_rank, launcher_world_size
from common.lock import WorkDirLock
from engine import supernet_meta
from engine.launch import build_runner, set_amp
from search.budgets import make_budget
from search.complexity import ComplexityCounter
from search.greedy import greedy_search
from search.log import SearchLog
from search.plan import SearchPlan, check_log, check_search
from search.plot import plot_chain
from search.result import SearchResult
from search.settings import SearchSettings
from search.transfer_candidates import TransferringEvaluator
from supernet import build_backbone

from .evaluators import EVALUATORS, unwrapped


def check_models(cfg: Config, plan: SearchPlan) -> tuple:
    """The checks that need the models, after :func:`~search.plan.check_search`: the
    checkpoint's tensor shapes against the space, the evaluator's name and options, and the
    budget (FLOPs counted at the config's input size). Returns ``(budget, counter)``."""
    _check_supernet_tensors(plan.checkpoint, plan.checkpoint_shapes, plan.space,
                            cfg.model.backbone.init_cfg.get('prefix', ''))
    evaluator = plan.settings.evaluator['type']
    EVALUATORS.import_from_location()
    if EVALUATORS.get(evaluator) is None:
        raise ValueError(f'search_cfg.evaluator.type={evaluator!r}: allowed '
                         f'{", ".join(sorted(EVALUATORS.module_dict))}')
    check_evaluator_options(evaluator, EVALUATORS.get(evaluator), plan.settings.evaluator_options,
                            cfg)
    counter = ComplexityCounter(plan.space, plan.settings.input_shape or _test_input_shape(cfg))
    budget = plan.settings.budget
    return make_budget(plan.space, budget['kind'], budget['limit'], counter), counter


def check_evaluator_options(name: str, builder, options: dict, cfg: Config | None = None):
    """``search_cfg.evaluator``'s options against its builder's keyword arguments (the runner
    comes first), then their values by the builder's ``check_options(options, cfg)`` (metric
    names, batch counts, flags): before the fine-tuning, so that such a mistake does not cost a
    fine-tuning first. Any ``num_recal_batches`` suits any number of processes."""
    params = list(inspect.signature(builder).parameters.values())[1:]
    names = sorted(p.name for p in params)
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ValueError(f'search_cfg.evaluator.{unknown[0]}: unknown option of the {name!r} '
                         f'evaluator; allowed: {", ".join(names)}')
    missing = [p.name for p in params if p.default is p.empty and p.name not in options]
    if missing:
        raise ValueError(f'search_cfg.evaluator.{missing[0]} is not set: the {name!r} evaluator '
                         'needs it')
    check_options = getattr(builder, 'check_options', None)
    if check_options is not None:
        check_options(options, cfg)


def _check_supernet_tensors(checkpoint: str, shapes: dict, space, prefix: str):
    """Refuse a checkpoint whose tensors are not those of a super-network of ``space``
    (mmengine's ``Pretrained`` would only warn about missing keys, and the search would run on
    random weights)."""
    with torch.device('meta'):  # shapes only: no memory, no initialisation
        expected = {k: v.shape for k, v in build_backbone(space).state_dict().items()
                    if not k.endswith('num_batches_tracked')}
    wrong = [k for k, shape in expected.items() if shapes.get(prefix + k) != tuple(shape)]
    if wrong:
        raise ValueError(f'--checkpoint {checkpoint}: not a super-network of space '
                         f'{space.name!r}: {len(wrong)} of its {len(expected)} backbone tensors '
                         f'are missing or of another shape (e.g. {prefix}{wrong[0]})')


def run_search(cfg: Config, resume: bool = False, launcher: str = 'none',
               progress: bool = True, amp: bool | str | None = None,
               plan: SearchPlan | None = None) -> SearchResult:
    """Check, fine-tune (optional), search, and write the search files into ``cfg.work_dir``,
    which the run locks (a second run on it is refused at once). ``cfg`` is not modified.
    ``amp``: fine-tune in mixed precision (``'fp16'``, ``'bf16'``; see
    :func:`engine.launch.set_amp`). ``plan``: what :func:`check_search` already
    returned for ``cfg`` (the tool checks before importing the engines), so the checkpoint is
    read once; only the search log is checked again, under the lock."""
    cfg = copy.deepcopy(cfg)
    # The process group does not exist yet (the runner creates it, and under Slurm mmengine sets
    # RANK only then): the launcher's own variables say who writes and takes the lock.
    writer = launcher_rank() == 0
    with WorkDirLock(cfg.work_dir) if writer else contextlib.nullcontext():
        if plan is None:
            plan = check_search(cfg, resume)
        else:
            check_log(plan.log_path, resume)
        set_amp(cfg, amp)  # the fine-tuning's optim_wrapper; bf16 refused for detection here
        budget, counter = check_models(cfg, plan)
        if writer:
            # a launcher's processes (a plain run inside a Slurm allocation is still one process)
            check_world_size(plan.log_path, launcher_world_size() if launcher != 'none' else 1)
        return _run_search(cfg, plan, budget, counter, resume, launcher, progress)


def log_meta(log_path: str) -> dict | None:
    """The metadata line of an existing search log, or ``None``."""
    try:
        with open(log_path) as f:
            entry = json.loads(f.readline() or 'null')
    except (OSError, ValueError):
        return None
    return entry.get('meta') if isinstance(entry, dict) else None


def check_world_size(log_path: str, world_size: int):
    """Warn when a search log was written by another number of processes: recalibration batches
    are the same for any number (:mod:`engine.evaluators`), the statistics' averages and the
    summed counts differ in floating-point rounding only. A log from before the number was
    recorded may have recalibrated, with dataloader workers, on batches that depended on it."""
    meta = log_meta(log_path)
    if meta is None:
        return
    logged = meta.get('world_size')
    if logged is None:
        warnings.warn(f'{log_path} does not record its number of processes (an older version '
                      'wrote it): if it ran on another number than this run\'s '
                      f'{world_size}, with dataloader workers, its scores were recalibrated on '
                      'other batches; start a new log to be sure')
    elif logged != world_size:
        warnings.warn(f'{log_path} was written by {logged} processes, this run has '
                      f'{world_size}: the same recalibration batches, scores equal up to '
                      'floating-point rounding')


def with_world_size(meta: dict, log_path: str, world_size: int) -> dict:
    """``meta`` with the number of processes that wrote the log: this run's for a new log, the
    log's own when it has one (:func:`check_world_size` warned of a difference: another number
    scores on the same batches, and :class:`~search.log.SearchLog` refuses any other value), none
    for a log from before it was recorded."""
    stored = log_meta(log_path)
    if stored is None:
        return dict(meta, world_size=world_size)
    return dict(meta, world_size=stored['world_size']) if 'world_size' in stored else dict(meta)


def _run_search(cfg: Config, plan: SearchPlan, budget, counter, resume: bool, launcher: str,
                progress: bool) -> SearchResult:
    settings = plan.settings
    runner = finetune_supernet(cfg, launcher=launcher, resume=resume)
    model = unwrapped(runner.model)
    space = model.backbone.space
    rank, world_size = get_dist_info()
    meta = dict(space=space.name, checkpoint=osp.abspath(plan.checkpoint),
                config=osp.basename(cfg.filename or ''), finetune_epochs=settings.finetune_epochs,
                evaluator=settings.evaluator)
    if settings.beyond_max:  # transferred scores depend on the method: never mix two in one log
        meta['transfer_method'] = settings.transfer_method
    meta = with_world_size(meta, plan.log_path, world_size)
    with torch.no_grad():
        # get(), not build(): build() looks for the runner's default scope (mmpretrain, mmdet)
        evaluate = EVALUATORS.get(settings.evaluator['type'])(runner,
                                                              **settings.evaluator_options)
        if settings.beyond_max:
            evaluate = TransferringEvaluator(evaluate, settings.transfer_method)
        if rank == 0:  # the one writer; it also repairs a torn last line before the others read
            log = SearchLog(plan.log_path, meta=meta)
        barrier()
        if rank != 0:
            log = SearchLog(plan.log_path, meta=meta, read_only=True)
        result = greedy_search(space, budget, evaluate, log=log, counter=counter,
                               progress=progress and rank == 0, beyond_max=settings.beyond_max,
                               beam=settings.beam, tie_tolerance=settings.tie_tolerance,
                               seed=(cfg.get('randomness') or {}).get('seed') or 0)
    if rank == 0:
        result.save(osp.join(cfg.work_dir, 'result.json'))
        plot_chain(result, osp.join(cfg.work_dir, 'chain.png'),
                   title=f'greedy search on {space.name} ({budget.kind} <= {budget.limit:g})')
    return result


def _test_input_shape(cfg: Config) -> tuple | None:
    """``(3, H, W)`` of the validation pipeline's ``Resize`` (mmdet's scale is (W, H)), so a
    detector's FLOPs are counted at its input size, not at 224 px; ``None`` without one."""
    for step in cfg.get('val_dataloader', {}).get('dataset', {}).get('pipeline', []):
        scale = step.get('scale') if step.get('type') == 'Resize' else None
        if isinstance(scale, (list, tuple)) and len(scale) == 2:
            return (3, int(min(scale)), int(max(scale))) if step.get('keep_ratio') else \
                (3, int(scale[1]), int(scale[0]))
    return None


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
    if epochs and finetuned_on_rank_zero(finetuned):
        runner.logger.info(f'loading the fine-tuned super-network from {finetuned}')
        model.load_state_dict(load_checkpoint_safely(finetuned, 'cpu')['state_dict'])
    elif epochs:
        runner.train()
        if get_dist_info()[0] == 0:
            # with the space in its meta, tools/extract_subnet.py can cut the subnets the
            # search scored out of it
            atomic_save({'state_dict': model.state_dict(), 'meta': supernet_meta(model)},
                        finetuned)
            _drop_training_checkpoints(runner.work_dir)
        barrier()
    else:
        warnings.warn('search_cfg.finetune_epochs=0: searching with the source weights; a new '
                      'target head stays untrained')
        model.init_weights()
    model.eval()


def finetuned_on_rank_zero(path: str) -> bool:
    """Whether ``path`` exists, as rank 0 sees it, on every rank: all ranks then take the same
    branch (load or fine-tune). Each asking alone, ranks on nodes that do not share the work dir
    would split, some training (waiting in DDP's first all-reduce) and some searching."""
    decision = [osp.exists(path)]
    broadcast_object_list(decision, src=0)  # a no-op without a process group
    if decision[0] and not osp.exists(path):
        raise FileNotFoundError(f'{path}: rank 0 has it, rank {get_dist_info()[0]} does not; the '
                                'work dir must be on a filesystem every node shares '
                                '(docs/install.md)')
    return decision[0]


def _drop_training_checkpoints(work_dir: str):
    """Once ``finetuned.pth`` holds the result, the runner's own checkpoints (weights and
    optimizer state, twice its size, kept only to resume the fine-tuning) are removed."""
    last = osp.join(work_dir, 'last_checkpoint')
    names = [n for n in os.listdir(work_dir) if n.endswith('.pth') and n != 'finetuned.pth'
             and n.split('_')[0] in ('epoch', 'iter', 'best')]
    for name in names:
        os.remove(osp.join(work_dir, name))
    if os.path.exists(last):
        os.remove(last)
