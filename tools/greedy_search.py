"""Greedy block search on a target (Sun et al., Alg. 1): fine-tune the super-network on the
target with depth sampling, then grow [1,…,1] one block per step to the budget, scoring every
candidate on a held-out split of the target's training data.

    python tools/greedy_search.py configs/demo/search_digits.py \
        --checkpoint work_dirs/supernet_resnet_fashion/iter_600.pth --budget 16
    bash tools/dist_train.sh CONFIG 8 --checkpoint ... --budget 16  # TRAIN_SCRIPT=tools/greedy_search.py

Every setting lives in the config's ``search_cfg`` (``search.settings``); the flags below are
shorthands that write into it (``--budget 16`` is ``search_cfg.budget.limit=16``), and
``--checkpoint`` sets ``model.backbone.init_cfg``. ``--beyond-max N`` lets a stage grow N blocks
past the super-network's depth; such candidates are initialized by weight transfer
(``--transfer-method``, default dpiat) from the deepest subnet they contain, and marked "*" in the
printed chain and "transferred" in the log.

``--amp`` fine-tunes the super-network in mixed precision (mmengine's AmpOptimWrapper, float16;
``--amp bf16`` for classification configs only), as tools/train.py's.

Checked before anything is built (one line on stderr, exit 2; --debug for a traceback): unknown
or invalid search_cfg keys, a budget outside the space's range, a missing or unreadable
checkpoint or one that is not a super-network of the config's space, an existing search log
without --resume, a work dir in use by another run (its pid), bfloat16 for a detection config.

Writes to the work dir: search_log.jsonl (every evaluated candidate, and each step's pick;
--resume continues from it), result.json (the chain of best allocations for every size, and the
chosen one), chain.png, and the run's mmengine log (<timestamp>/<timestamp>.log: each step's pick
and the summary, every score labelled with what it is, e.g. "held-out log-likelihood -2.3003").
The scores also go to the config's visualizer: with TensorboardVisBackend among its vis_backends
(--cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend), `tensorboard --logdir
WORK_DIR` plots search/score (every candidate) and search/chain (the pick of every size).
"""
import argparse
import os.path as osp

from common.cli import run_cli  # first: quiets mmengine's import-time warnings
from mmengine.config import Config, DictAction  # isort: skip

from common.distributed import (AMP_DTYPES, add_dist_backend_argument, check_distributed_device,
                                set_dist_backend)
from search.budgets import BUDGET_KINDS
from search.plan import check_search, set_supernet_checkpoint, supernet_checkpoint
from transfer import METHODS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Greedy block search on a target dataset')
    parser.add_argument('config', help='search config (super-network model on the target)')
    parser.add_argument('--checkpoint', help='trained super-network checkpoint '
                        '(sets model.backbone.init_cfg)')
    parser.add_argument('--budget', type=float, help='search_cfg.budget.limit: total blocks C, '
                        're-weighted blocks, FLOPs or parameters')
    parser.add_argument('--budget-kind', choices=BUDGET_KINDS, help='search_cfg.budget.kind')
    parser.add_argument('--beam', type=int, help='search_cfg.beam: best allocations kept per '
                        'size (1: Alg. 1)')
    parser.add_argument('--beyond-max', type=int, help="search_cfg.beyond_max: blocks a stage "
                        "may grow past the super-network's depth, initialized by transfer")
    parser.add_argument('--transfer-method', choices=sorted(METHODS),
                        help='search_cfg.transfer_method: how those blocks are initialized')
    parser.add_argument('--data-root', help="target dataset folder; sets every dataloader's "
                        'data_root (inside wrappers such as HeldOutSplit, the wrapped one)')
    parser.add_argument('--work-dir', help='default: work_dirs/<config name>')
    parser.add_argument('--resume', action='store_true',
                        help='continue a search (and its fine-tuning) from the work dir')
    parser.add_argument('--amp', nargs='?', const='fp16', choices=sorted(AMP_DTYPES),
                        help="fine-tune the super-network in mixed precision (mmengine's "
                        'AmpOptimWrapper): --amp is fp16; --amp bf16 for classification only')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. search_cfg.finetune_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (pytorch for torchrun, '
                        'tools/dist_train.sh; slurm for tools/slurm_train.sh)')
    add_dist_backend_argument(parser)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help="set by torch.distributed.launch; torchrun sets LOCAL_RANK instead")
    parser.add_argument('--debug', action='store_true', help='tracebacks instead of one-line '
                        'errors')
    return parser, parser.parse_args(argv)


def search_config(args) -> Config:
    """The config with the command line's shorthands written into it (its custom_imports, which
    pull in mmdet and mmpretrain, are imported only after the checks)."""
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    search_cfg = cfg.setdefault('search_cfg', {})
    budget = search_cfg.setdefault('budget', {})
    if args.budget is not None:
        budget['limit'] = int(args.budget) if float(args.budget).is_integer() else args.budget
    if args.budget_kind is not None:
        budget['kind'] = args.budget_kind
    for key in ('beam', 'beyond_max', 'transfer_method'):
        if getattr(args, key) is not None:
            search_cfg[key] = getattr(args, key)
    if args.checkpoint:
        set_supernet_checkpoint(cfg, args.checkpoint)
    set_dist_backend(cfg, args.dist_backend)
    return cfg


def main(argv=None):
    _, args = parse_args(argv)
    cfg = search_config(args)
    plan = check_search(cfg, args.resume)  # a typo is answered before the engine is imported
    if args.launcher != 'none':
        check_distributed_device(cfg, args.launcher)
    from mmengine.logging import print_log
    from mmengine.utils import import_modules_from_strings

    from engine.launch import set_data_root
    from engine.pipeline import run_search  # mmengine's Runner, mmdet
    import_modules_from_strings(**cfg.get('custom_imports', {}))
    if args.data_root:
        set_data_root(cfg, args.data_root)
    result = run_search(cfg, resume=args.resume, launcher=args.launcher, amp=args.amp, plan=plan)
    for line in summary(result, cfg):
        print_log(line, logger='current')  # the run's logger: the console and the work dir's log
    return result


def summary(result, cfg) -> list:
    """The lines that end a search: its chain, the chosen allocation with its labelled score, and
    the command that cuts it out of the super-network."""
    best = result.best
    chain = [f'{r.label} {r.score:.4f}' for r in result.chain if r.score is not None]
    lines = ['chain: ' + result.format_chain(),
             f'{result.score_name} along the chain: {", ".join(chain)}']
    if result.ties:
        lines.append('tied steps (order drawn at random, seeded): '
                     f'{[t["step"] for t in result.ties]}')
    lines.append(f'chosen allocation {best.allocation} ({result.score_name} {best.score:.4f}); '
                 f'{result.num_evaluated} evaluated now, {result.num_reused} reused from the log')
    command = (f'next: python tools/extract_subnet.py {supernet_checkpoint(cfg)} '
               f'--allocation {",".join(map(str, best.allocation))}')
    if best.transferred:  # deeper than the super-network: extract_subnet grows it the same way
        command += (f' --beyond-max {cfg.search_cfg.beyond_max}'
                    f' --transfer-method {best.transferred["method"]}')
    return lines + [command]


if __name__ == '__main__':
    run_cli(main)
