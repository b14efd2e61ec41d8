"""Does the search score predict what a child reaches after fine-tuning? For 8 allocations of one
size: the search score (inherited weights + BN recalibration, held-out split) against the
held-out top-1 after a short fine-tune of each child, and Kendall's tau between the two.

    python benchmarks/search_score_fidelity.py          # after the README's demo chain
    python benchmarks/search_score_fidelity.py --size 12 --epochs 8 --count 8

Children inherit the source super-network's weights (as tools/extract_subnet.py cuts them) and
fine-tune with configs/demo/finetune_child_digits.py on the target's training part; both scores
are measured on the same held-out part of the target's training split.
"""
import argparse
import tempfile

import numpy as np
import torch
from mmengine.config import Config

from search import kendall_tau, make_budget
from search.engine import evaluator_from_config, finetune_child
from supernet.export import export_child


def held_out_finetune_config(finetune_config, search_config):
    """The child fine-tuning config, trained and validated on the search's held-out split."""
    cfg = Config.fromfile(finetune_config)
    search = Config.fromfile(search_config)
    for name in ('train_dataloader', 'val_dataloader'):
        pipeline = cfg[name].dataset.pipeline
        cfg[name].dataset = search[name].dataset
        cfg[name].dataset.dataset.pipeline = pipeline
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--search-config', default='configs/demo/search_digits.py')
    parser.add_argument('--finetune-config', default='configs/demo/finetune_child_digits.py')
    parser.add_argument('--supernet', default='work_dirs/supernet_resnet_fashion/iter_600.pth',
                        help='source super-network (the weights children inherit)')
    parser.add_argument('--finetuned', default='work_dirs/search_digits/finetuned.pth',
                        help='super-network fine-tuned on the target (what the search scores)')
    parser.add_argument('--size', type=int, default=12, help='blocks in every allocation')
    parser.add_argument('--count', type=int, default=8)
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    evaluate = evaluator_from_config(args.search_config, args.finetuned,
                                     work_dir='work_dirs/bench_fidelity')
    space = evaluate.backbone.space
    frontier = make_budget(space, 'blocks', args.size, counter=False).frontier()
    rng = np.random.default_rng(args.seed)
    picks = [frontier[i] for i in sorted(rng.choice(len(frontier), args.count, replace=False))]
    with torch.no_grad():
        search_scores = [evaluate(a) for a in picks]
    cfg = held_out_finetune_config(args.finetune_config, args.search_config)
    finetuned = []
    with tempfile.TemporaryDirectory() as tmp:
        for allocation in picks:
            child = f'{tmp}/child.pth'
            export_child(args.supernet, allocation, child)
            finetuned.append(finetune_child(cfg, allocation, child, f'{tmp}/work',
                                            epochs=args.epochs) / 100)
    print(f'{args.count} allocations of {args.size} blocks in {space.name}, fine-tuned '
          f'{args.epochs} epochs:')
    print(f'{"allocation":>16} | search score | fine-tuned top-1')
    for allocation, s, f in sorted(zip(picks, search_scores, finetuned), key=lambda t: -t[1]):
        print(f'{str(allocation):>16} | {s:12.4f} | {f:.4f}')
    print(f'Kendall tau(search score, fine-tuned top-1) = '
          f'{kendall_tau(search_scores, finetuned):+.3f}')


if __name__ == '__main__':
    main()
