"""What the training CLIs share: arguments, config adjustments and the end-of-run summary.

Kept out of ``tools/`` so the CLIs stay thin and tests can call the same code in-process.
"""
from __future__ import annotations

import argparse
import importlib
import itertools
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from common.distributed import (AMP_DTYPES, add_dist_backend_argument, check_distributed_device,
                                set_dist_backend)

from .subnet_checkpoint import check_subnet_allocation


_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_RUNNERS_BUILT = itertools.count(1)  # in this process; every rank builds the same sequence
_NAMES_GIVEN: set = set()  # the experiment names _own_experiment_name chose


def training_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='training config')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--data-root', help="dataset folder; sets every dataloader's data_root, "
                        'inside wrappers such as HeldOutSplit the wrapped dataset\'s (and moves '
                        "an evaluator's ann_file under the old root along)")
    parser.add_argument('--load-from', help='initialize the model from this checkpoint')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CHECKPOINT, or without a value from the last '
                        'checkpoint in the work dir')
    parser.add_argument('--amp', nargs='?', const='fp16', choices=sorted(AMP_DTYPES),
                        help="mixed-precision training with mmengine's AmpOptimWrapper: --amp "
                        'is fp16 with a dynamic loss scale; --amp bf16 (classification only: '
                        "mmcv's RoIAlign has no bfloat16 kernel)")
    parser.add_argument('--auto-scale-lr', action=argparse.BooleanOptionalAction, default=True,
                        help="scale the config's LR, meant for its auto_scale_lr.base_batch_size, "
                        'linearly to the total batch run (default; --no-auto-scale-lr keeps it)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (pytorch for torchrun)')
    add_dist_backend_argument(parser)
    parser.add_argument('--debug', action='store_true',
                        help='tracebacks instead of one-line errors')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help="set by torch.distributed.launch; torchrun sets LOCAL_RANK instead")
    return parser


def runner_from_args(args: argparse.Namespace) -> Runner:
    """The runner a training CLI's arguments describe."""
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.load_from:
        cfg.load_from = args.load_from
    set_dist_backend(cfg, args.dist_backend)
    return build_runner(cfg, launcher=args.launcher, data_root=args.data_root,
                        resume=args.resume, amp=args.amp, auto_scale_lr=args.auto_scale_lr,
                        cfg_options=args.cfg_options)


def build_runner(cfg: Config, launcher: str = 'none', data_root: str | None = None,
                 resume: str | None = None, amp: bool | str | None = None,
                 auto_scale_lr: bool = True, cfg_options: dict | None = None) -> Runner:
    """Apply the command-line choices to ``cfg`` and build its runner (``runner_type`` honoured).

    ``amp``: ``True`` or ``'fp16'``, ``'bf16'``: train with mmengine's ``AmpOptimWrapper``
    (:func:`set_amp`).

    ``auto_scale_lr``: if the config gives ``auto_scale_lr.base_batch_size`` (the total batch its
    LR is meant for), mmengine scales the LR linearly to the total batch run; ``False`` keeps the
    config's LR. The log says which, with both batches and LRs.
    """
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_vis_backends(cfg)
    _no_persistent_workers_without_workers(cfg)
    cfg.launcher = launcher
    if data_root:
        set_data_root(cfg, data_root)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    set_amp(cfg, amp)
    check_subnet_allocation(cfg)  # before any training: the checkpoint's allocation
    _own_experiment_name(cfg)
    # On by default: an LR meant for a larger total batch can diverge at a smaller one
    # (docs/search.md). mmdet's base schedules say enable=False, so the config's own flag is not
    # asked.
    scaling = cfg.get('auto_scale_lr') or {}
    if 'base_batch_size' in scaling:
        scaling.enable = auto_scale_lr
    if launcher != 'none':
        check_distributed_device(cfg, launcher)
        if not torch.cuda.is_available():
            _adapt_distributed_to_cpu(cfg)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.register_hook(CollectInWorkDirHook())
    if 'base_batch_size' in scaling and cfg.get('train_dataloader') is not None:
        _log_lr_scaling(cfg, runner.world_size)
    return runner


# The package each of mmengine's visualization backends imports as it starts.
VIS_BACKEND_PACKAGES = {'TensorboardVisBackend': 'tensorboard', 'WandbVisBackend': 'wandb',
                        'MLflowVisBackend': 'mlflow', 'ClearMLVisBackend': 'clearml',
                        'NeptuneVisBackend': 'neptune', 'DVCLiveVisBackend': 'dvclive',
                        'AimVisBackend': 'aim'}


def check_vis_backends(cfg: Config):
    """Refuse, in one line naming the entry and the install, a ``visualizer.vis_backends`` entry
    whose package does not import: mmengine imports it while building the runner (which records
    the config with every backend) and stops with a traceback that names neither."""
    backends = (cfg.get('visualizer') or {}).get('vis_backends') or []
    for index, backend in enumerate(backends):
        kind = backend.get('type') if isinstance(backend, dict) else None
        package = VIS_BACKEND_PACKAGES.get(kind if isinstance(kind, str) else '')
        if package is None:
            continue
        try:
            importlib.import_module(package)
        except ImportError as err:
            raise ValueError(f'visualizer.vis_backends.{index}.type={kind!r} needs the {package} '
                             f'package, which does not import ({err}): pip install {package}, '
                             'or leave that backend out') from None


COLLECT_DIR = '.dist_collect'


def collect_in_work_dir(evaluator, work_dir: str):
    """Point the metrics of an mmengine ``Evaluator`` that gather the ranks' results through
    files (``collect_device='cpu'``, no ``collect_dir`` of their own) at ``work_dir/.dist_collect``.
    mmengine's default is ``./.dist_test`` under each process's current directory, which rank 0
    reads for every rank: on nodes that share the work dir but not the current directory it
    stops ("is not an shared directory"). mmdet's ``CocoMetric`` and mmpretrain's ``Accuracy``
    take no ``collect_dir`` argument, hence the attribute."""
    for metric in getattr(evaluator, 'metrics', []):
        if getattr(metric, 'collect_device', None) == 'cpu' and \
                getattr(metric, 'collect_dir', None) is None:
            metric.collect_dir = osp.join(work_dir, COLLECT_DIR)


class CollectInWorkDirHook(Hook):
    """Validation and test of every runner :func:`build_runner` builds gather their results
    through the work dir (:func:`collect_in_work_dir`), which every node shares."""
    priority = 'VERY_HIGH'

    def before_val(self, runner):
        collect_in_work_dir(runner.val_loop.evaluator, runner.work_dir)

    def before_test(self, runner):
        collect_in_work_dir(runner.test_loop.evaluator, runner.work_dir)


def _own_experiment_name(cfg: Config):
    """mmengine names a runner's MessageHub, logger and visualizer ``<config>_<timestamp>``, to
    the second, and hands back an existing instance of that name: two runners built in the same
    second by one process (a report's short fine-tunes) shared their scalars' history, and a
    learning curve came back with the previous run's validation in it. Each runner this process
    builds gets a name of its own unless the config gives one (a config built into a runner
    before carries the name chosen then: it gets a new one)."""
    name = cfg.get('experiment_name')
    if name is None or name in _NAMES_GIVEN:
        stem = osp.splitext(osp.basename(cfg.filename))[0] if cfg.filename else 'exp'
        cfg.experiment_name = f'{stem}-{next(_RUNNERS_BUILT)}'
        _NAMES_GIVEN.add(cfg.experiment_name)


def _no_persistent_workers_without_workers(cfg: Config):
    """The configs keep their loaders' workers between epochs; with ``num_workers=0`` (e.g.
    ``--cfg-options train_dataloader.num_workers=0`` to debug) there are none to keep, and torch's
    DataLoader would refuse ``persistent_workers=True``."""
    for name in _DATALOADERS:
        loader = cfg.get(name)
        if loader is not None and not loader.get('num_workers', 0) and \
                loader.get('persistent_workers'):
            loader.persistent_workers = False


def set_amp(cfg: Config, amp: bool | str | None):
    """``--amp``: mixed precision through mmengine's ``AmpOptimWrapper``, autocast to float16
    (``True`` or ``'fp16'``, with a dynamic loss scale) or bfloat16 (``'bf16'``); ``None`` or
    ``False`` leaves the config's ``optim_wrapper`` alone. Then :func:`check_amp`."""
    if amp:
        precision = 'fp16' if amp is True else amp
        if precision not in AMP_DTYPES:
            raise ValueError(f'--amp {amp}: allowed {", ".join(sorted(AMP_DTYPES))}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = AMP_DTYPES[precision]
        if precision == 'fp16':
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    check_amp(cfg)


def check_amp(cfg: Config):
    """Refuse bfloat16 for a detection config (default scope mmdet), from ``--amp bf16`` or the
    config's own ``optim_wrapper.dtype``: mmcv 2.1's RoIAlign CUDA kernel takes float, double
    and half only, so the run would stop at its first RoI."""
    dtype = str((cfg.get('optim_wrapper') or {}).get('dtype'))
    if dtype.removeprefix('torch.') in ('bfloat16', 'bf16') and \
            cfg.get('default_scope') == 'mmdet':
        raise ValueError(f'optim_wrapper.dtype={dtype!r} (--amp bf16): refused for detection '
                         "configs, mmcv's RoIAlign has no bfloat16 kernel; allowed: float16 "
                         '(--amp)')


def set_iterations(cfg: Config, iterations: int):
    """Train an iteration-based config for ``iterations`` instead of its own count: validate and
    save a checkpoint once at the end, and stretch its by-iteration LR schedule (warm-up and
    decay keep their shares of the run; a phase never shrinks to nothing)."""
    schedulers = cfg.get('param_scheduler') or []
    if 'max_iters' not in cfg.train_cfg or any(p.get('by_epoch', True) for p in schedulers):
        raise ValueError('set_iterations needs an iteration-based config (train_cfg.max_iters, '
                         'schedulers with by_epoch=False)')
    old = cfg.train_cfg.max_iters

    def stretched(point):
        return 0 if not point else max(1, round(point * iterations / old))

    for scheduler in schedulers:
        for key in ('begin', 'end', 'T_max'):
            if key in scheduler:
                scheduler[key] = stretched(scheduler[key])
    cfg.train_cfg = dict(by_epoch=False, max_iters=iterations, val_interval=iterations)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=iterations, max_keep_ckpts=1)


def _log_lr_scaling(cfg: Config, world_size: int):
    """One line: the config's LR and its batch, the batch run, and the LR training will use
    (mmengine scales the optimizer's groups when ``train()`` builds it)."""
    base = cfg.auto_scale_lr.base_batch_size
    per_process = cfg.train_dataloader.batch_size
    total = world_size * per_process
    lr = cfg.optim_wrapper.get('optimizer', {}).get('lr')
    lr_text = 'LR' if lr is None else f'LR {lr:g}'
    if cfg.auto_scale_lr.enable:
        after = f'x{total / base:g}' if lr is None else f'{lr * total / base:g}'
        print_log(f'auto_scale_lr: {lr_text} is meant for a total batch of {base}; this run has '
                  f'{world_size} x {per_process} = {total}: {lr_text} -> {after} '
                  '(--no-auto-scale-lr keeps it)', logger='current')
    else:
        print_log(f'auto_scale_lr off: {lr_text}, meant for a total batch of {base}, is kept for '
                  f'this run\'s {world_size} x {per_process} = {total}', logger='current')


def set_data_root(cfg: Config, data_root: str):
    """Point every dataloader's dataset (inside a wrapper, the wrapped one) at ``data_root``; an
    evaluator's ``ann_file`` under a dataset's old root (mmdet's ``CocoMetric`` reads the
    annotations itself, e.g. ``data/coco/annotations/instances_val2017.json``) moves along, and
    the log says so."""
    old_roots = set()
    for name in _DATALOADERS:
        if cfg.get(name) is not None:
            for dataset in _innermost_datasets(cfg[name].dataset):
                old_roots.add(dataset.get('data_root'))
                dataset.data_root = data_root
    old_roots.discard(None)
    groups = [cfg.get(name) for name in ('val_evaluator', 'test_evaluator')]
    evaluators = [e for g in groups for e in (g if isinstance(g, list) else [g])]
    for evaluator in {id(e): e for e in evaluators if isinstance(e, dict)}.values():
        ann_file = evaluator.get('ann_file')
        old = next((r for r in old_roots if isinstance(ann_file, str) and ann_file.startswith(r)),
                   None)
        if old is not None:
            evaluator.ann_file = osp.join(data_root, ann_file[len(old):].lstrip('/'))
            print_log(f'--data-root: evaluator ann_file {ann_file} -> {evaluator.ann_file}',
                      logger='current')


def _innermost_datasets(dataset: dict) -> list:
    """The datasets that read files: inside wrappers (``HeldOutSplit``, ``RepeatDataset``:
    ``dataset=``; ``ConcatDataset``: ``datasets=``), which take no ``data_root`` themselves."""
    if isinstance(dataset.get('dataset'), dict):
        return _innermost_datasets(dataset.dataset)
    if isinstance(dataset.get('datasets'), (list, tuple)):
        return [d for inner in dataset.datasets for d in _innermost_datasets(inner)]
    return [dataset]


def _adapt_distributed_to_cpu(cfg: Config):
    """Distributed processes on CPU (gloo chosen): the group and a DDP wrapper without device ids.

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device``; the Runner skips it when a
    process group already exists, so we create the group here.
    """
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper.update(device_ids=None, broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    print_log('no CUDA device: distributed training on CPU with the gloo backend (chosen)',
              logger='current')


def summarize_validation(runner: Runner) -> dict:
    """Print and return the latest held-out top-1 per validated allocation (AllocationValLoop)."""
    # the built loop, if validation ran (before that, mmengine keeps the config dict here)
    results = getattr(getattr(runner, '_val_loop', None), 'last_results', {})
    if not results:
        return {}
    classes = runner.val_dataloader.dataset.metainfo.get('classes') or ()
    chance = f' (chance: {100 / len(classes):.1f}%)' if classes else ''
    lines = [f'held-out top-1 of the super-network{chance}:']
    scores = {}
    for name, (depths, metrics) in results.items():
        scores[name] = metrics.get('accuracy/top1')
        lines.append(f'  {name:>8} allocation {depths}: {scores[name]:.2f}%')
    print_log('\n'.join(lines), logger='current')
    return scores
