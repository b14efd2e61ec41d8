"""The whole method on the embedded demo data in one call (``tools/demo.py``): source
super-network, target search, weight inheritance, fine-tuning on the source and on the target,
and test.

1. write the demo data if missing (Fashion-MNIST in the ImageNet layout, the digits in the
   CUB-200-2011 layout);
2. train the demo super-network on Fashion-MNIST (``configs/demo/supernet_resnet_fashion.py``);
3. fine-tune it on the digits with depth sampling and greedy-search up to ``budget`` blocks
   (``configs/demo/search_digits.py``: candidates scored by their log-likelihood on a held-out
   part of the digits' training split);
4. cut the chosen subnet out of the source super-network (inherited weights);
5. fine-tune it on Fashion-MNIST, the source, to settle its inherited weights on its own path
   (paper 004, Sec. 3.4; ``configs/demo/finetune_subnet_fashion.py``); ``source_step=False``
   skips it;
6. fine-tune it on the digits' training split and test it on their test split, which neither the
   search nor the fine-tuning saw (``configs/demo/finetune_subnet_digits.py``).

Each step keeps its files in ``work_dir/<step>`` and is skipped when they are complete, so a
stopped run continues with ``resume=True``; each step is also a tool of its own (the README).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from mmengine.config import Config

from archdata import prepare_demo_source, prepare_demo_target
from common.checkpoint import atomic_write_text
from common.lock import WorkDirLock
from engine.launch import build_runner, set_data_root, summarize_validation
from engine.pipeline import run_search
from engine.training import finetune_runner, train_subnet
from search.plan import set_supernet_checkpoint
from supernet.extract import extract_subnet_checkpoint
from supernet.spaces import format_allocation

CONFIGS = dict(supernet='demo/supernet_resnet_fashion.py', search='demo/search_digits.py',
               source_finetune='demo/finetune_subnet_fashion.py',
               finetune='demo/finetune_subnet_digits.py')


def run_demo(work_dir='work_dirs/demo', data_root='data/demo', config_dir='configs',
             budget: int = 16, resume: bool = False, source_step: bool = True,
             say=print) -> dict:
    """Run the six steps (see the module doc; five without ``source_step``); return the chosen
    allocation, the chain and the subnet's test top-1, also written to ``work_dir/demo.json``."""
    work_dir, data_root, config_dir = Path(work_dir), Path(data_root), Path(config_dir)
    if work_dir.exists() and any(work_dir.iterdir()) and not resume:
        raise FileExistsError(f'{work_dir} holds an earlier demo run: pass --resume to continue '
                              'it, or another --work-dir')
    with WorkDirLock(work_dir):
        return _run_demo(work_dir, data_root, config_dir, budget, source_step, say)


def _run_demo(work_dir: Path, data_root: Path, config_dir: Path, budget: int, source_step: bool,
              say) -> dict:
    steps = 6 if source_step else 5
    say(f'1/{steps} demo data')
    source = prepare_demo_source(data_root / 'fashion_mnist')
    target = prepare_demo_target(data_root / 'digits_cub')

    say(f'2/{steps} super-network on Fashion-MNIST (the source)')
    supernet, top1 = _train_supernet(config_dir, work_dir / 'supernet', source)
    say('    held-out top-1 (Fashion-MNIST test images): ' + ', '.join(
        f'{name} subnet {value:.2f}%' for name, value in top1.items()))

    say(f'3/{steps} greedy search on the digits (the target), up to {budget} blocks')
    cfg = _config(config_dir, 'search', work_dir / 'search', 'fine-tune on the target')
    set_supernet_checkpoint(cfg, supernet)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.dataset.data_root = str(target)
    cfg.search_cfg.budget.limit = budget
    with torch.enable_grad():
        result = run_search(cfg, resume=(work_dir / 'search' / 'search_log.jsonl').exists())
    best = result.best.allocation
    say(f'    chain: {result.format_chain()}')

    say(f'4/{steps} subnet {format_allocation(best)} with the weights it inherits')
    subnet = work_dir / f'subnet_{format_allocation(best)}.pth'
    if not subnet.exists():
        extract_subnet_checkpoint(supernet, best, subnet)

    start, source_top1 = subnet, None
    if source_step:
        say(f'5/{steps} fine-tune the subnet on Fashion-MNIST (the source, paper Sec. 3.4)')
        start, source_top1 = _finetune_on_source(config_dir, work_dir / 'subnet_source', source,
                                                 best, subnet)
        say(f'    held-out top-1 on the source after it: {source_top1:.2f}%')

    say(f'{steps}/{steps} fine-tune the subnet on the target and test it')
    # a folder per start, so that a run resumed with the other setting does not reuse it
    test_top1 = _finetune_and_test(config_dir, work_dir / ('subnet' if source_step else
                                                           'subnet_inherited'),
                                   target, best, start)
    summary = dict(allocation=list(best), chain=[list(r.allocation) for r in result.chain],
                   held_out_score=result.best.score,
                   search_metric=cfg.search_cfg.evaluator.get('metric', 'accuracy'),
                   test_top1=test_top1,
                   supernet=supernet, supernet_top1=top1, subnet=str(subnet),
                   source_step=source_step,
                   source_checkpoint=str(start) if source_step else None, source_top1=source_top1)
    atomic_write_text(work_dir / 'demo.json', json.dumps(summary, indent=1))
    return summary


def _config(config_dir: Path, name: str, work_dir: Path, desc: str) -> Config:
    """A demo config with quiet logging and a progress bar instead."""
    cfg = Config.fromfile(str(config_dir / CONFIGS[name]))
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='TqdmHook', desc=desc)]
    return cfg


def _train_supernet(config_dir: Path, work_dir: Path, source: Path) -> tuple:
    """``(checkpoint, {'max': top-1, 'min': top-1})``: the deepest and the shallowest subnet on
    the source's held-out images, each after BatchNorm recalibration."""
    cfg = _config(config_dir, 'supernet', work_dir, 'super-network')
    final = work_dir / f'iter_{cfg.train_cfg.max_iters}.pth'
    saved = work_dir / 'validation.json'
    if not (final.exists() and saved.exists()):
        resume = 'auto' if (work_dir / 'last_checkpoint').exists() else None
        runner = build_runner(cfg, data_root=str(source), resume=resume)
        runner.train()
        if not summarize_validation(runner):  # resumed after the last validation
            runner.val()
        atomic_write_text(saved, json.dumps(summarize_validation(runner)))
    return str(final), json.loads(saved.read_text())


def _finetune_on_source(config_dir: Path, work_dir: Path, source: Path, allocation,
                        subnet: Path) -> tuple:
    """``(checkpoint, held-out top-1 on the source)`` of the subnet fine-tuned on the source from
    the weights it inherits (``subnet``, whole classifier)."""
    saved = work_dir / 'source.json'
    if not saved.exists():
        cfg = _config(config_dir, 'source_finetune', work_dir, 'fine-tune the subnet on the source')
        set_data_root(cfg, str(source))
        with torch.enable_grad():
            result = train_subnet(cfg, allocation, str(work_dir), load_from=str(subnet))
        atomic_write_text(saved, json.dumps(result))
    result = json.loads(saved.read_text())
    return Path(result['checkpoint']), result['top1']


def _finetune_and_test(config_dir: Path, work_dir: Path, target: Path, allocation,
                       subnet: Path) -> float:
    saved = work_dir / 'test.json'
    if saved.exists():
        return json.loads(saved.read_text())['accuracy/top1']
    cfg = _config(config_dir, 'finetune', work_dir, 'fine-tune the subnet')
    runner = finetune_runner(cfg, allocation, str(subnet), str(work_dir), data_root=str(target),
                             keep_checkpoints=True)
    runner.train()
    metrics = runner.test()
    atomic_write_text(saved, json.dumps(metrics))
    return float(metrics['accuracy/top1'])
