"""Training a subnet with mmengine: fine-tuning it from the weights it inherits (on the target by
epochs, on the source by iterations) or training it alone from random init. The report, the demo
and the benchmarks train subnets here; ``tools/train.py`` runs any config through
:func:`engine.launch.runner_from_args`, the same runner these build.
"""
from __future__ import annotations

import copy

from mmengine.config import Config

from .launch import build_runner, set_iterations


def finetune_subnet(config, allocation, init_checkpoint: str | None, work_dir: str,
                    epochs: int | None = None, cfg_options: dict | None = None) -> float:
    """Fine-tune the subnet of ``allocation`` with a subnet fine-tuning config (e.g.
    ``configs/demo/finetune_subnet_digits.py``) and return its last validation top-1.

    ``init_checkpoint``: a subnet checkpoint (``tools/extract_subnet.py``) for inherited weights,
    or ``None`` for the config's random initialisation. Everything else (data, schedule, seed)
    comes from the config, so two calls differ only in what they are asked to.
    """
    runner = finetune_runner(config, allocation, init_checkpoint, work_dir, epochs, cfg_options)
    runner.train()
    return float(runner.message_hub.get_scalar('val/accuracy/top1').current())


def finetune_subnet_curve(config, allocation, init_checkpoint: str | None, work_dir: str,
                          epochs: int | None = None, cfg_options: dict | None = None) -> list:
    """As :func:`finetune_subnet`, validating after every epoch: the top-1 after epochs
    ``1 .. epochs``, in order (a learning curve)."""
    options = dict(cfg_options or {}, **{'train_cfg.val_interval': 1})
    runner = finetune_runner(config, allocation, init_checkpoint, work_dir, epochs, options)
    runner.train()
    history, _ = runner.message_hub.get_scalar('val/accuracy/top1').data
    return [float(top1) for top1 in history]


def subnet_runner(config, allocation, work_dir: str, load_from: str | None = None,
                  iterations: int | None = None, cfg_options: dict | None = None):
    """The runner that trains the subnet of ``allocation`` with an iteration-based subnet
    config (``configs/demo/finetune_subnet_fashion.py``, ``train_subnet_fashion_split.py``).

    ``load_from``: a subnet checkpoint with the whole classifier's keys, head included
    (``tools/extract_subnet.py``): the weights it inherits, fine-tuned further on the source
    (paper 004, Sec. 3.4); ``None``: random init (the subnet trained alone). ``iterations``
    replaces the config's count, its schedule stretched along
    (:func:`~engine.launch.set_iterations`); it validates and saves once, at the end.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    cfg.work_dir = work_dir
    cfg.model.backbone.stage_blocks = tuple(allocation)
    cfg.model.backbone.init_cfg = None  # load_from sets every weight, or none is inherited
    cfg.load_from = None if load_from is None else str(load_from)
    # also when the count stays: one validation and one checkpoint, at the end
    set_iterations(cfg, iterations or cfg.train_cfg.max_iters)
    return build_runner(cfg, cfg_options=cfg_options)


def train_subnet(config, allocation, work_dir: str, load_from: str | None = None,
                 iterations: int | None = None, cfg_options: dict | None = None) -> dict:
    """Train as :func:`subnet_runner` sets up; return the last ``checkpoint`` (a whole
    classifier: a target fine-tuning starts its backbone from it with ``init_cfg``) and its
    validation ``top1``."""
    runner = subnet_runner(config, allocation, work_dir, load_from, iterations, cfg_options)
    runner.train()
    return dict(checkpoint=f'{runner.work_dir}/iter_{runner.iter}.pth',
                top1=float(runner.message_hub.get_scalar('val/accuracy/top1').current()))


def finetune_runner(config, allocation, init_checkpoint: str | None, work_dir: str,
                    epochs: int | None = None, cfg_options: dict | None = None,
                    data_root: str | None = None, keep_checkpoints: bool = False):
    """The runner that fine-tunes the subnet of ``allocation`` with an epoch-based subnet config,
    its backbone started from ``init_checkpoint`` (``init_cfg``; ``None``: random init).

    ``epochs`` replaces the config's count, validating once at the end under a cosine schedule;
    ``data_root`` points every dataloader at a dataset folder; checkpoints are written only with
    ``keep_checkpoints`` (a study needs the scores, a user the trained model).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    cfg.work_dir = work_dir
    cfg.model.backbone.stage_blocks = tuple(allocation)
    if init_checkpoint is None:
        cfg.model.backbone.init_cfg = None
    else:
        cfg.model.backbone.init_cfg.checkpoint = init_checkpoint
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = epochs
        cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=epochs,
                                    eta_min=0.0)]
    if not keep_checkpoints:
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    return build_runner(cfg, data_root=data_root, cfg_options=cfg_options)
