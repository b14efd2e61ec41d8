"""What the report's sections share: settings, seeds, folders, the demo configs with the report's
overrides, the source super-network, per target seed the target-fine-tuned super-network with
its evaluators (search part, rescore part), and subnet fine-tunes (each run once, whichever
section asks first).
"""
from __future__ import annotations

import json
import os
import time
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config

from archdata import (
    FASHION_MNIST_CLASSES,
    TOPS_CLASSES,
    prepare_split_source,
    prepare_tops_target,
)
from common.checkpoint import atomic_write_text, load_checkpoint_safely
from engine.launch import build_runner, set_iterations, summarize_validation
from engine.recipes import RECIPES
from supernet.spaces import format_allocation, get_space

from .parallel import Beside
from .settings import Settings

CONFIGS = {  # under the configs folder of a clone (tools/report.py passes it)
    'supernet': 'demo/supernet_resnet_fashion_split.py',  # source: Fashion-MNIST, no tops
    'search': 'demo/search_tops.py',                      # target super-network + search
    'finetune': 'demo/finetune_subnet_tops.py',            # target subnet fine-tuning
    'source_finetune': 'demo/finetune_subnet_fashion_split.py',  # a subnet on the source (Sec. 3.4)
    # the same step learning from a frozen teacher as well (Settings.source_distill)
    'source_distill': 'demo/finetune_subnet_fashion_split_distill.py',
    'alone': 'demo/train_subnet_fashion_split.py',          # a subnet trained alone on the source
}
SOURCE_CONFIGS = ('supernet', 'source_finetune', 'source_distill', 'alone')
# How a subnet fine-tuned on the target starts: the weights cut from the source super-network,
# random ones, the cut ones fine-tuned on the source first (paper 004, Sec. 3.4), or those of
# the subnet trained alone on the source (the usual pretrained network).
INITS = ('inherited', 'scratch', 'source', 'alone')
SPACE = 'resnet_bottleneck_demo'


def default_allocation(space, budget: int) -> tuple:
    """ResNet-50's allocation when it has ``budget`` blocks, else its proportions rounded to
    ``budget`` (largest remainders, at least one block per stage)."""
    default = np.array(space.default_depths)
    if default.sum() == budget:
        return tuple(int(d) for d in default)
    shares = default * budget / default.sum()
    depths = np.maximum(1, np.floor(shares)).astype(int)
    for i in np.argsort(-(shares - np.floor(shares)), kind='stable'):
        if depths.sum() >= budget:
            break
        depths[i] += 1
    return tuple(int(d) for d in depths)


class ReportContext:
    """Shared state of one report run.

    Args:
        settings: sizes (:data:`~reproduce.settings.FULL` or ``REDUCED``).
        seed: the first seed of the run (configs' ``randomness.seed``, searches, picks, inits);
            the target seeds are ``seed, seed + 1, ...`` (``settings.seeds`` of them).
        work_dir: scratch folder for checkpoints and runner logs.
        data_root: where the demo data are written (``fashion_split_source/``,
            ``tops_cub/seed<k>/``: one draw of the target's images per target seed).
        supernet: a trained demo super-network checkpoint to reuse; ``None`` trains one.
        keep_supernet: where a super-network trained here is moved (default: left in
            ``work_dir/supernet``).
        config_dir: the ``configs/`` folder holding the demo configs (:data:`CONFIGS`).
        written: result files this run wrote already (a second process's context is given the
            main one's, so that reading them is not counted as reusing a stopped run's).
    """

    def __init__(self, settings: Settings, seed: int, work_dir, data_root, supernet=None,
                 keep_supernet=None, config_dir='configs', written=()):
        self.settings, self.seed = settings, seed
        self.seeds = [seed + i for i in range(settings.seeds)]
        self.work_dir, self.data_root = Path(work_dir), Path(data_root)
        self.given_supernet, self.keep_supernet = supernet, keep_supernet
        self.config_dir = Path(config_dir)
        self.supernet_info: dict = {}
        # what a resumed run (tools/report.py --resume) took from the stopped one
        self.reused = dict(supernet=False, target_finetuning=0, search_evaluations=0,
                           subnet_finetunes=0, source_models=0)
        self._written: set = set(written)  # result files this run wrote or has counted
        self._targets: dict = {}  # target seed -> TargetRun
        # target seed -> {allocation: (search top-1, search log-likelihood)}, set by section 2
        self.frontier_scores: dict = {}
        # jobs run beside this process (the report sets a two-process one)
        self.beside = Beside(processes=1)

    @classmethod
    def in_second_process(cls, arguments: dict, supernet: str) -> 'ReportContext':
        """The context a job of the report's second process works in: built from the main
        one's :meth:`arguments` on the same folders, with the super-network it trained."""
        ctx = cls(**arguments, supernet=supernet)
        ctx.prepare_data()  # written by the main process already: only finds the folders
        return ctx

    @cached_property
    def default(self) -> tuple:
        """The default allocation at the run's budget (:func:`default_allocation`)."""
        return default_allocation(get_space(SPACE), self.settings.budget)

    def arguments(self) -> dict:
        """How a second process builds its own context on the same folders (it is given the
        super-network this one trained), knowing the result files written so far."""
        return dict(settings=self.settings, seed=self.seed, work_dir=self.work_dir,
                    data_root=self.data_root, config_dir=self.config_dir,
                    written=set(self._written))

    def state(self) -> dict:
        """What this context learned that the main process needs: sent back by a context in
        the second process (:meth:`absorb`)."""
        counters = {k: v for k, v in self.reused.items() if not isinstance(v, bool)}
        return dict(frontier_scores=self.frontier_scores, reused=counters,
                    written=self._written)

    def absorb(self, state: dict):
        """Take in another context's :meth:`state` (its seeds' scores, what it reused, the
        curve files it wrote, so they are not counted as reused later)."""
        self.frontier_scores.update(state['frontier_scores'])
        for key, count in state['reused'].items():
            self.reused[key] += count
        self._written |= state['written']

    # ------------------------------------------------------------------------------- data
    def prepare_data(self) -> dict:
        s = self.settings
        source = prepare_split_source(self.data_root / 'fashion_split_source',
                                      s.source_train_per_class, s.source_val_per_class)
        self.source_root = source
        self.target_roots = {seed: prepare_tops_target(self.data_root / 'tops_cub' / f'seed{seed}',
                                                       *s.target_per_class, seed=seed)
                             for seed in self.seeds}
        return dict(source=str(source), target=str(self.data_root / 'tops_cub'),
                    target_seeds=self.seeds)

    # ---------------------------------------------------------------------------- configs
    def config(self, name: str, work_dir: str, desc: str | None = None,
               seed: int | None = None) -> Config:
        """A demo config with the report's data, sizes, seed and quiet logging; target configs
        read the target images drawn with ``seed`` (default: the run's first seed)."""
        path = self.config_dir / CONFIGS[name]
        if not path.exists():
            raise FileNotFoundError(f'{path} not found: config_dir must be the configs/ folder '
                                    'of a clone of the repository')
        seed = self.seed if seed is None else seed
        cfg = Config.fromfile(str(path))
        s = self.settings
        cfg.work_dir = str(self.work_dir / work_dir)
        cfg.log_level = 'WARNING'  # the report shows tqdm bars instead of mmengine's lines
        cfg.randomness = dict(seed=seed)
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='TqdmHook', desc=desc or work_dir)]
        loaders = [n for n in ('train_dataloader', 'val_dataloader', 'test_dataloader')
                   if cfg.get(n) is not None]
        for loader in loaders:
            cfg[loader].num_workers = s.num_workers
            cfg[loader].persistent_workers = s.num_workers > 0
        if name in SOURCE_CONFIGS:
            self._source_overrides(cfg, name)
        else:
            for loader in loaders:
                cfg[loader].dataset.data_root = str(self.target_roots[seed])
            cfg.train_dataloader.batch_size = s.batch
        return cfg

    def _source_overrides(self, cfg: Config, name: str):
        """The source's images and the super-network's batch; the super-network's iterations,
        its schedule stretched to them (a subnet's are set by :meth:`source_model`)."""
        s = self.settings
        for loader in ('train_dataloader', 'val_dataloader'):
            cfg[loader].dataset.data_root = str(self.source_root)
        cfg.train_dataloader.batch_size = s.supernet_batch
        if name == 'supernet':
            set_iterations(cfg, s.supernet_iters)
            cfg.val_cfg.bn_recalibration_batches = s.source_recal_batches
            cfg.model.update(RECIPES[s.supernet_recipe])

    # ---------------------------------------------------------------- source super-network
    def check_given_supernet(self):
        """Refuse a ``--supernet`` that is missing, of another space, or trained on the target's
        classes: before any data are written or anything is trained."""
        if self.given_supernet is None:
            return
        path = Path(self.given_supernet)
        if not path.is_file():
            raise FileNotFoundError(f'--supernet {path}: no such file')
        meta = load_checkpoint_safely(str(path), 'cpu').get('meta', {})
        if meta.get('space') != SPACE:
            raise ValueError(f'--supernet {path}: a super-network of space {SPACE!r} is '
                             f'needed (configs/demo/supernet_resnet_fashion_split.py), the '
                             f'checkpoint records space {meta.get("space")!r}')
        # The source must not have seen the target's classes (as ImageNet and CUB share none)
        classes = (meta.get('dataset_meta') or {}).get('classes')
        tops = [FASHION_MNIST_CLASSES[c] for c in TOPS_CLASSES]
        if classes is None or set(classes) & set(tops):
            raise ValueError(f'--supernet {path}: trained on classes {classes}; the report '
                             f'needs one trained without the target\'s {", ".join(tops)} '
                             '(configs/demo/supernet_resnet_fashion_split.py)')

    @cached_property
    def supernet(self) -> str:
        """The source super-network checkpoint: the given one, or one trained now."""
        if self.given_supernet is not None:
            self.check_given_supernet()
            self.supernet_info = dict(checkpoint=str(self.given_supernet), trained_here=False)
            return str(self.given_supernet)
        info_path = self.work_dir / 'supernet_info.json'
        if info_path.exists():  # trained by the run this one resumes
            info = json.loads(info_path.read_text())
            path = Path(self.keep_supernet or info['checkpoint'])
            if path.is_file():
                self.supernet_info = dict(info, checkpoint=str(path))
                self.reused['supernet'] = True
                return str(path)
        start = time.perf_counter()
        cfg = self.config('supernet', 'supernet', desc='source super-network')
        warm_start = self._warm_start() if self.settings.warm_start else None
        cfg.load_from = warm_start
        runner = build_runner(cfg)
        runner.train()
        top1 = summarize_validation(runner)
        path = Path(cfg.work_dir) / f'iter_{self.settings.supernet_iters}.pth'
        if self.keep_supernet is not None:
            os.replace(path, self.keep_supernet)
            path = Path(self.keep_supernet)
        self.supernet_info = dict(
            checkpoint=str(path), trained_here=True, iterations=self.settings.supernet_iters,
            seconds=round(time.perf_counter() - start, 1),
            max_top1=round(top1['max'], 2), min_top1=round(top1['min'], 2),
            warm_start=warm_start is not None, recipe=self.settings.supernet_recipe)
        atomic_write_text(info_path, json.dumps(self.supernet_info))
        return str(path)

    def _warm_start(self) -> str:
        """The super-network's start with ``settings.warm_start``: the default allocation
        trained alone on the source (the headline's start iii, a user's pretrained network),
        copied into the super-network with its head, the blocks it lacks filled by ``identity``
        (``supernet.init_from``); written once."""
        from initialize import init_from
        path = self.work_dir / 'supernet_warm_start.pth'
        if not path.exists():
            alone = self.source_model(self.default, 'alone')['checkpoint']
            init_from(SPACE, [alone], fill='identity', seed=self.seed).save(path)
        return str(path)

    # --------------------------------------------------------- target fine-tuned super-network
    def target(self, seed: int | None = None) -> 'TargetRun':
        """The super-network fine-tuned on the target drawn with ``seed`` (default: the first),
        with depth sampling as ``tools/greedy_search.py`` does, and its evaluators: BatchNorm
        recalibration on training batches, then the search metric on the 'search' part
        (``search``) or on the 'rescore' part (``rescore``: data that chose nothing)."""
        from engine.evaluators import classification_evaluator
        from engine.pipeline import finetune_supernet
        from search.plan import set_supernet_checkpoint
        seed = self.seed if seed is None else seed
        if seed in self._targets:
            return self._targets[seed]
        s = self.settings
        cfg = self.config('search', f'seed{seed}/target_supernet', seed=seed,
                          desc=f'super-network on the target (seed {seed})')
        cfg.search_cfg.finetune_epochs = s.target_finetune_epochs
        cfg.search_cfg.evaluator.num_recal_batches = s.recal_batches
        cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True,
                                    T_max=s.target_finetune_epochs, eta_min=1e-3)]
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
        if (Path(cfg.work_dir) / 'finetuned.pth').exists():
            self.reused['target_finetuning'] += 1
        set_supernet_checkpoint(cfg, self.supernet)
        runner = finetune_supernet(cfg)  # loads finetuned.pth when it exists
        options = dict(cfg.search_cfg.evaluator)
        options.pop('type')
        evaluators = {part: classification_evaluator(runner, **options,
                                                     val_dataset=dict(part=part))
                      for part in ('search', 'rescore')}
        target = TargetRun(seed, runner, evaluators, options.get('metric', 'accuracy'),
                           self.work_dir / f'seed{seed}')
        self._targets[seed] = target
        return target

    @cached_property
    def source_evaluator(self):
        """Top-1 of a source super-network subnet on the source's held-out split, after
        BatchNorm recalibration on source training batches (the x axis of paper Fig. 1)."""
        from engine.evaluators import evaluator_from_config
        cfg = self.config('supernet', 'source_eval')
        cfg.search_cfg = dict(evaluator=dict(type='classification',
                                             num_recal_batches=self.settings.source_recal_batches))
        return evaluator_from_config(cfg, self.supernet, work_dir=cfg.work_dir)

    # --------------------------------------------------------------- subnets on the source
    def inherited_subnet(self, allocation) -> str:
        """The subnet checkpoint of ``allocation`` cut from the source super-network (whole
        classifier: backbone and source head), written once."""
        from supernet.extract import extract_subnet_checkpoint
        path = self.work_dir / 'subnets' / f'subnet_{format_allocation(allocation)}.pth'
        if not path.exists():
            extract_subnet_checkpoint(self.supernet, tuple(allocation), path)
        return str(path)

    def source_model(self, allocation, kind: str) -> dict:
        """The subnet of ``allocation`` trained on the source, once per run (``work_dir/source``):
        ``'finetuned'``, its inherited weights fine-tuned there (paper 004, Sec. 3.4;
        ``settings.source_finetune_iters``), or ``'alone'``, from random init with the
        super-network's recipe and as many images (``supernet_iters`` of ``supernet_batch``).
        Returns its ``checkpoint``, held-out source ``top1`` (%) and ``seconds``."""
        from engine.training import train_subnet
        s, name = self.settings, format_allocation(allocation)
        saved = self.work_dir / 'source' / f'{name}_{kind}.json'
        result = self._kept(saved, 'source_models')
        if result is None:
            iterations = {'finetuned': s.source_finetune_iters, 'alone': s.supernet_iters}[kind]
            # only a fine-tune needs the super-network (a warm start trains 'alone' before it)
            load_from = self.inherited_subnet(allocation) if kind == 'finetuned' else None
            cfg = self.source_config(name, kind)
            start = time.perf_counter()
            with torch.enable_grad():
                trained = train_subnet(cfg, allocation, cfg.work_dir, load_from, iterations)
            result = dict(  # the checkpoint relative to work_dir: a copied folder resumes too
                checkpoint=f'source/{name}_{kind}/{Path(trained["checkpoint"]).name}',
                top1=round(trained['top1'], 2), seconds=round(time.perf_counter() - start, 1))
            self._keep(saved, result)
        return dict(result, checkpoint=str(self.work_dir / result['checkpoint']))

    def source_config(self, name: str, kind: str) -> Config:
        """The config that trains subnet ``name`` on the source as ``kind`` (:meth:`source_model`):
        the source step's (with ``source_finetune_lr`` and, with ``source_distill``, its teacher)
        or training alone's."""
        s = self.settings
        distilled = kind == 'finetuned' and s.source_distill != 'none'
        config = {'finetuned': 'source_distill' if distilled else 'source_finetune',
                  'alone': 'alone'}[kind]
        cfg = self.config(config, f'source/{name}_{kind}', desc=f'{name} on the source ({kind})')
        if kind == 'finetuned' and s.source_finetune_lr is not None:
            cfg.optim_wrapper.optimizer.lr = s.source_finetune_lr
        if distilled:
            teacher, depths = self._teacher()
            cfg.model.teacher.checkpoint = teacher
            cfg.model.teacher.model.backbone.stage_blocks = depths
        return cfg

    def _teacher(self) -> tuple:
        """The source step's teacher (``settings.source_distill``): its checkpoint and
        allocation, the default trained alone (start iii) or the largest subnet cut from the
        source super-network."""
        if self.settings.source_distill == 'alone':
            depths = self.default
            checkpoint = self.source_model(depths, 'alone')['checkpoint']
        else:
            depths = get_space(SPACE).max_depths
            checkpoint = self.inherited_subnet(depths)
        return checkpoint, tuple(depths)

    # ------------------------------------------------------------------- subnet fine-tuning
    def finetune_curve(self, allocation, init: str = 'inherited',
                       seed: int | None = None) -> list:
        """Target test top-1 (%) after every epoch of fine-tuning the subnet of ``allocation``
        from ``init`` (:data:`INITS`) on the target drawn with ``seed`` (default: the first).
        Runs once per (allocation, init, seed) and run, kept in ``work_dir/curves``; same data,
        schedule and seed for all."""
        return self._finetuned(allocation, init, seed, curve=True)

    def finetuned_top1(self, allocation, seed: int | None = None,
                       init: str = 'inherited') -> float:
        """Target test top-1 (%) of the subnet of ``allocation`` fine-tuned from ``init``
        (:data:`INITS`) on the target drawn with ``seed``, tested once at the end (the 'test'
        part)."""
        return self._finetuned(allocation, init, seed, curve=False)

    def _finetuned(self, allocation, init: str, seed, curve: bool):
        from engine.training import finetune_subnet, finetune_subnet_curve
        if init not in INITS:
            raise ValueError(f'init={init!r}: one of {", ".join(INITS)}')
        seed = self.seed if seed is None else seed
        allocation = tuple(allocation)
        name = format_allocation(allocation)
        saved = self.work_dir / 'curves' / f'seed{seed}' / f'{name}_{init}' \
            f'{"" if curve else "_final"}.json'
        if not (curve or saved.exists()) and saved.with_name(f'{name}_{init}.json').exists():
            # the same run, tested after every epoch too: its last test is this one (same
            # data, schedule and seed)
            return self._finetuned(allocation, init, seed, curve=True)[-1]
        kept = self._kept(saved, 'subnet_finetunes')
        if kept is not None:
            return kept
        start = {'inherited': lambda: self.inherited_subnet(allocation), 'scratch': lambda: None,
                 'source': lambda: self.source_model(allocation, 'finetuned')['checkpoint'],
                 'alone': lambda: self.source_model(allocation, 'alone')['checkpoint']}[init]()
        cfg = self.config('finetune', f'finetune/seed{seed}/{name}_{init}', seed=seed,
                          desc=f'fine-tune {name} ({init}, seed {seed})')
        run = finetune_subnet_curve if curve else finetune_subnet
        with torch.enable_grad():
            result = run(cfg, allocation, start, cfg.work_dir, epochs=self.settings.subnet_epochs)
        result = [round(top1, 2) for top1 in result] if curve else round(result, 2)
        self._keep(saved, result)
        return result

    def _kept(self, saved: Path, counter: str):
        """The result kept at ``saved``, or ``None``; one the run this one resumes finished
        counts once in ``reused[counter]``."""
        if not saved.exists():
            return None
        if saved not in self._written:
            self.reused[counter] += 1
            self._written.add(saved)
        return json.loads(saved.read_text())

    def _keep(self, saved: Path, result):
        """Write ``result`` to ``saved`` (atomically), counted as this run's own."""
        atomic_write_text(saved, json.dumps(result))
        self._written.add(saved)


class TargetRun:
    """One target seed: its fine-tuned super-network ``runner``, ``evaluators`` ('search',
    'rescore'), the search ``metric`` and its scratch folder."""

    def __init__(self, seed: int, runner, evaluators: dict, metric: str, work_dir: Path):
        self.seed, self.runner, self.evaluators = seed, runner, evaluators
        self.metric, self.work_dir = metric, work_dir
        self._rescored: dict = {}

    @property
    def space(self):
        return self.evaluators['search'].backbone.space

    def rescored(self, allocation):
        """Per-image records (:class:`~search.evaluator.PerImage`) of ``allocation`` on the
        rescore part, evaluated once."""
        allocation = tuple(allocation)
        if allocation not in self._rescored:
            evaluator = self.evaluators['rescore']
            with torch.no_grad():
                evaluator(allocation)
            self._rescored[allocation] = evaluator.last_per_image
        return self._rescored[allocation]
