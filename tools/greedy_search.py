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
(``--transfer-method``, default dpiat) from the deepest child they contain, and marked "*" in the
printed chain and "transferred" in the log.

Checked before anything is built (one line on stderr, exit 2): unknown or invalid search_cfg
keys, a budget outside the space's range, a missing or unreadable checkpoint or one of another
space, an existing search log without --resume.

Writes to the work dir: search_log.jsonl (every evaluated candidate; --resume continues from it),
result.json (the chain of best allocations for every size, and the chosen one), chain.png.
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction

from search.budgets import BUDGET_KINDS
from search.settings import TRANSFER_METHODS


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
    parser.add_argument('--transfer-method', choices=TRANSFER_METHODS,
                        help='search_cfg.transfer_method: how those blocks are initialized')
    parser.add_argument('--work-dir', help='default: work_dirs/<config name>')
    parser.add_argument('--resume', action='store_true',
                        help='continue a search (and its fine-tuning) from the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. search_cfg.finetune_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser, parser.parse_args(argv)


def search_config(args) -> Config:
    """The config with the command line's shorthands written into it."""
    cfg = Config.fromfile(args.config)
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
        from search.pipeline import set_supernet_checkpoint
        set_supernet_checkpoint(cfg, args.checkpoint)
    return cfg


def main(argv=None):
    parser, args = parse_args(argv)
    from search.pipeline import check_search, run_search
    try:
        cfg = search_config(args)
        plan = check_search(cfg, resume=args.resume)
    except (ValueError, KeyError, FileNotFoundError, FileExistsError) as err:
        parser.exit(2, f'{parser.prog}: error: {str(err).strip(chr(34) + chr(39))}\n')
    result = run_search(cfg, resume=args.resume, launcher=args.launcher)
    best = result.best
    print('chain: ' + result.format_chain())
    print(f'chosen allocation {best.allocation} (score {best.score:.4f}); {result.num_evaluated} '
          f'evaluated now, {result.num_reused} reused from the log')
    command = (f'next: python tools/extract_subnet.py {plan.checkpoint} '
               f'--allocation {",".join(map(str, best.allocation))}')
    if best.transferred:  # deeper than the super-network: extract_subnet grows it the same way
        command += (f' --beyond-max {plan.settings.beyond_max}'
                    f' --transfer-method {best.transferred["method"]}')
    print(command)
    return result


if __name__ == '__main__':
    main()
