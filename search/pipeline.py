"""The search pipeline behind ``tools/greedy_search.py``: fine-tune the super-network on the
target with depth sampling, greedy-search with an evaluator built from the same runner, and write
``search_log.jsonl``, ``result.json`` and ``chain.png`` to the work dir.

The config is an ordinary mmengine training config of the super-network model on the target
(train/val dataloaders, schedule) plus::

    search_cfg = dict(
        finetune_epochs=10,                        # 0: search straight from the source weights
        evaluator=dict(type='classification', num_recal_batches=20, metric='accuracy'),
        beyond_max=0,              # > 0: stages may grow that many blocks past the super-network,
        transfer_method='dpiat')   # the extra blocks initialized by this transfer method

``beyond_max`` and ``transfer_method`` can also come from the command line (``--beyond-max``,
``--transfer-method``), which wins over the config. With ``beyond_max > 0`` the log's metadata
holds the transfer method, so a resumed search never mixes scores of two methods.
"""
from __future__ import annotations

import os.path as osp
import warnings

import torch
from mmengine.config import Config
from mmengine.dist import barrier, get_dist_info

from supernet.engine import atomic_save, load_checkpoint_safely, supernet_meta
from supernet.engine.launch import build_runner
from transfer import METHODS

from .budgets import make_budget
from .engine import classification_evaluator, unwrapped
from .greedy import greedy_search
from .log import SearchLog
from .plot import plot_chain
from .result import SearchResult
from .transfer_candidates import TransferringEvaluator

# evaluator type -> builder(runner, **options); detection registers its own (search.detection)
EVALUATORS = {'classification': classification_evaluator}
BUDGET_NAMES = {'blocks': 'blocks', 'weighted': 'reweighted', 'reweighted': 'reweighted',
                'flops': 'flops', 'params': 'params'}


def run_search(cfg: Config, checkpoint: str, budget: float, budget_type: str = 'blocks',
               resume: bool = False, launcher: str = 'none', progress: bool = True,
               cfg_options: dict | None = None, beyond_max: int | None = None,
               transfer_method: str | None = None) -> SearchResult:
    """Fine-tune (optional), search, and write the search files into ``cfg.work_dir``.

    ``beyond_max`` / ``transfer_method``: ``None`` takes them from ``search_cfg``."""
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if budget_type not in BUDGET_NAMES:
        raise ValueError(f'budget type {budget_type!r}: allowed {sorted(BUDGET_NAMES)}')
    search_cfg = cfg.get('search_cfg')
    if search_cfg is None:
        raise ValueError('the config has no search_cfg (finetune_epochs, evaluator=dict(type=...))')
    evaluator_cfg = dict(search_cfg.evaluator)
    kind = evaluator_cfg.pop('type', 'classification')
    if kind not in EVALUATORS:
        raise ValueError(f'search_cfg.evaluator.type={kind!r}: allowed {sorted(EVALUATORS)}')
    beyond_max, transfer_method = _beyond_settings(search_cfg, beyond_max, transfer_method)
    log_path = osp.join(cfg.work_dir, 'search_log.jsonl')
    if osp.exists(log_path) and not resume:
        raise FileExistsError(f'{log_path} exists: pass --resume to continue that search, or '
                              'another --work-dir')

    runner = finetune_supernet(cfg, checkpoint, launcher=launcher, resume=resume)
    torch.set_grad_enabled(False)
    epochs = int(search_cfg.get('finetune_epochs', 0))

    model = unwrapped(runner.model)
    space = model.backbone.space
    evaluate = EVALUATORS[kind](runner, **evaluator_cfg)
    if beyond_max:
        evaluate = TransferringEvaluator(evaluate, transfer_method)
    budget = make_budget(space, BUDGET_NAMES[budget_type], budget)
    rank, _ = get_dist_info()
    meta = dict(space=space.name, checkpoint=osp.abspath(checkpoint),
                config=osp.basename(cfg.filename or ''), finetune_epochs=epochs,
                evaluator=dict(type=kind, **evaluator_cfg))
    if beyond_max:  # transferred scores depend on the method: never mix two in one log
        meta['transfer_method'] = transfer_method
    if rank == 0:  # the one writer; it also repairs a torn last line before the others read
        log = SearchLog(log_path, meta=meta)
    barrier()
    if rank != 0:
        log = SearchLog(log_path, meta=meta, read_only=True)
    result = greedy_search(space, budget, evaluate, log=log, progress=progress and rank == 0,
                           beyond_max=beyond_max)
    if rank == 0:
        result.save(osp.join(cfg.work_dir, 'result.json'))
        plot_chain(result, osp.join(cfg.work_dir, 'chain.png'),
                   title=f'greedy search on {space.name} ({budget.kind} <= {budget.limit:g})')
    return result


def finetune_supernet(cfg: Config, checkpoint: str, launcher: str = 'none',
                      resume: bool = False):
    """The runner of a search config with the super-network's weights from ``checkpoint``,
    fine-tuned on the target with depth sampling for ``search_cfg.finetune_epochs`` (0: not at
    all). The result is kept as ``work_dir/finetuned.pth``, which a later call loads instead of
    training again. The model is left in eval mode."""
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=checkpoint,
                                       prefix='backbone.')
    epochs = int(cfg.search_cfg.get('finetune_epochs', 0))
    if epochs:
        cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=epochs)
    runner = build_runner(cfg, launcher=launcher, resume='auto' if resume else None)
    _finetune(runner, epochs)
    return runner


def _beyond_settings(search_cfg, beyond_max, transfer_method) -> tuple:
    """``(beyond_max, transfer_method)``: the arguments, else ``search_cfg``'s, checked."""
    if beyond_max is None:
        beyond_max = search_cfg.get('beyond_max', 0)
    if transfer_method is None:
        transfer_method = search_cfg.get('transfer_method', 'dpiat')
    if isinstance(beyond_max, bool) or not isinstance(beyond_max, int) or beyond_max < 0:
        raise ValueError(f'search_cfg.beyond_max={beyond_max!r}: allowed an integer >= 0 (blocks '
                         "a stage may grow past the super-network's depth; 0 = never)")
    if transfer_method not in METHODS:
        raise ValueError(f'search_cfg.transfer_method={transfer_method!r}: allowed '
                         f'{", ".join(map(repr, sorted(METHODS)))}')
    return beyond_max, transfer_method


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
