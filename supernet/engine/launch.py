"""What the training CLIs share: config adjustments and the end-of-run summary.

Kept out of ``tools/`` so the CLIs stay thin and tests can call the same code in-process.
"""
from __future__ import annotations

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def build_runner(cfg: Config, launcher: str = 'none', data_root: str | None = None,
                 resume: str | None = None, amp: bool = False, auto_scale_lr: bool = False,
                 cfg_options: dict | None = None) -> Runner:
    """Apply the command-line choices to ``cfg`` and build its runner (``runner_type`` honoured)."""
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if data_root:
        for name in _DATALOADERS:
            if cfg.get(name) is not None:
                cfg[name].dataset.data_root = data_root
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ValueError('--auto-scale-lr: the config has no auto_scale_lr '
                             '(base_batch_size) entry')
        cfg.auto_scale_lr.enable = True
    if launcher != 'none' and not torch.cuda.is_available():
        _adapt_distributed_to_cpu(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def _adapt_distributed_to_cpu(cfg: Config):
    """torchrun without GPUs: a gloo process group and a DDP wrapper without device ids.

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device``; the Runner skips it when a
    process group already exists, so we create the group here.
    """
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper.update(device_ids=None, broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    print_log('no CUDA device: distributed training on CPU with the gloo backend',
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
