"""Greedy block search on a target (paper 004, Alg. 1): fine-tune the super-network on the
target with depth sampling, then grow [1,…,1] one block per step to the budget, scoring every
candidate on a held-out split of the target's training data.

    python tools/greedy_search.py configs/demo/search_digits.py \
        --checkpoint work_dirs/supernet_resnet_fashion/iter_600.pth --budget 16
    bash tools/dist_train.sh CONFIG 8 --checkpoint ... --budget 16  # TRAIN_SCRIPT=tools/greedy_search.py

--beyond-max N lets a stage grow N blocks past the super-network's depth; such candidates are
initialized by weight transfer (--transfer-method, default dpiat) from the deepest child they
contain, and marked "*" in the printed chain and "transferred" in the log.

Writes to the work dir: search_log.jsonl (every evaluated candidate; --resume continues from it),
result.json (the chain of best allocations for every size, and the chosen one), chain.png.
"""
import _unshadow  # noqa: F401  (first: makes `transfer` the package, see its doc)
import argparse
import os.path as osp

from mmengine.config import Config, DictAction

from search.pipeline import BUDGET_NAMES, run_search
from transfer import METHODS


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'{value}: allowed an integer >= 0')
    return value


def main():
    parser = argparse.ArgumentParser(description='Greedy block search on a target dataset')
    parser.add_argument('config', help='search config (super-network model on the target)')
    parser.add_argument('--checkpoint', required=True, help='trained super-network checkpoint')
    parser.add_argument('--budget', required=True, type=float,
                        help='total blocks C, re-weighted blocks, FLOPs or parameters')
    parser.add_argument('--budget-type', default='blocks', choices=sorted(BUDGET_NAMES))
    parser.add_argument('--work-dir', help='default: work_dirs/<config name>')
    parser.add_argument('--resume', action='store_true',
                        help='continue a search (and its fine-tuning) from the work dir')
    parser.add_argument('--beyond-max', type=non_negative,
                        help="blocks a stage may grow past the super-network's depth, "
                        'initialized by transfer (default: search_cfg.beyond_max, else 0)')
    parser.add_argument('--transfer-method', choices=sorted(METHODS),
                        help='how those blocks are initialized (default: '
                        "search_cfg.transfer_method, else 'dpiat')")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    result = run_search(cfg, args.checkpoint, args.budget, args.budget_type, resume=args.resume,
                        launcher=args.launcher, cfg_options=args.cfg_options,
                        beyond_max=args.beyond_max, transfer_method=args.transfer_method)
    best = result.best.allocation
    print('chain: ' + result.format_chain())
    print(f'chosen allocation {best} (score {result.best.score:.4f}); {result.num_evaluated} '
          f'evaluated now, {result.num_reused} reused from the log')
    command = (f'next: python tools/extract_subnet.py {args.checkpoint} '
               f'--allocation {",".join(map(str, best))}')
    transferred = result.best.transferred
    if transferred:  # deeper than the super-network: extract_subnet grows it the same way
        command += f' --transfer-method {transferred["method"]}'
    print(command)


if __name__ == '__main__':
    main()
