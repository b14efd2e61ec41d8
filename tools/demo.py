"""The whole method on CPU in one command: train a super-network on Fashion-MNIST, search the
digits for the best allocation, inherit its weights, fine-tune it on Fashion-MNIST (paper 004,
Sec. 3.4) and on the digits, and test it.

    python tools/demo.py
    python tools/demo.py --resume            # continue a stopped run
    python tools/demo.py --no-source-step    # from inherited weights straight to the digits

Writes the embedded data to --data-root (if missing) and every step's files to --work-dir
(default work_dirs/demo): supernet/, search/ (search_log.jsonl, result.json, chain.png),
subnet_<allocation>.pth, subnet_source/ (the source fine-tune), subnet/ (the target fine-tune;
subnet_inherited/ with --no-source-step) and demo.json (the chosen allocation, the chain, the test
top-1).
Each step is also a tool of its own: prepare_demo_data.py, train_supernet.py, greedy_search.py,
extract_subnet.py, train.py (see the README).
"""
import argparse
import time
import warnings
from pathlib import Path

import torch

from common.cli import run_cli
from engine.demo import run_demo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='where every step writes (default: work_dirs/demo)')
    parser.add_argument('--data-root', default='data/demo', help='embedded data folder')
    parser.add_argument('--budget', type=int, default=16,
                        help='blocks of the searched subnet (4..68; default 16, as ResNet-50)')
    parser.add_argument('--resume', action='store_true', help='continue a stopped run')
    parser.add_argument('--no-source-step', action='store_true',
                        help='skip fine-tuning the subnet on the source before the target')
    args = parser.parse_args(argv)
    if not 4 <= args.budget <= 68:
        parser.error(f'--budget {args.budget}: allowed 4..68 blocks (the demo space holds '
                     '(1, 1, 1, 1) .. (8, 10, 36, 14))')
    torch.set_num_threads(1)  # small tensors on a shared 2-core machine: threads only contend
    warnings.filterwarnings('ignore')  # mmengine's deprecation notes would bury the bars
    start = time.perf_counter()
    try:
        summary = run_demo(args.work_dir, args.data_root,
                           Path(__file__).resolve().parents[1] / 'configs', args.budget,
                           args.resume, source_step=not args.no_source_step)
    except FileExistsError as err:
        parser.error(str(err))
    allocation = ', '.join(map(str, summary['allocation']))
    score = summary['held_out_score']
    score = (f'log-likelihood {score:.4f}' if summary['search_metric'] == 'loss'
             else f'top-1 {100 * score:.2f}%')
    print(f'chosen allocation ({allocation}): test top-1 {summary["test_top1"]:.2f}% '
          f'(held-out search {score}), {time.perf_counter() - start:.0f} s; details in '
          f'{Path(args.work_dir) / "demo.json"}')


if __name__ == '__main__':
    run_cli(main)
