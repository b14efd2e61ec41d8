"""Cost of the detection search on the embedded COCO-format glyph set: seconds per candidate, split
into BatchNorm recalibration and COCO mAP evaluation (DetectionEvaluator.timings), and the number
of candidates greedy evaluates against an exhaustive search of the same block budget.

    python benchmarks/detection_search_cost.py                  # random demo super-network, C=6
    python benchmarks/detection_search_cost.py --budget 8 \
        --checkpoint work_dirs/supernet_resnet_fashion/iter_600.pth --finetune-epochs 1
    python benchmarks/detection_search_cost.py --budget 16 --data-root data/demo/coco_glyphs \
        --load-from work_dirs/supernet_faster_rcnn_glyphs/finetuned.pth   # after the demo search

The glyph set is written to a temporary folder (or read from --data-root). The model is
configs/demo/supernet_faster_rcnn_glyphs.py: the demo super-network in Faster-RCNN, its backbone
from --checkpoint (a source super-network; default: random weights), fine-tuned with depth
sampling for --finetune-epochs first; or the whole detector from --load-from (e.g. the
super-network tools/greedy_search.py fine-tuned). Greedy's count is the run's; exhaustive's is
the size of the budget's frontier (every allocation of C blocks), from
search.make_budget(...).frontier(). For the paper's space the table gives greedy's count without
skipped subnets, ns·(C − ns), an upper bound that is exact while no stage reaches its maximum
depth.
"""
import argparse
import statistics
import tempfile
import time

import torch
from mmengine.config import Config

from archdata import write_coco_glyphs
from common.checkpoint import load_checkpoint_safely
from engine.detection import DetectionEvaluator
from engine.launch import build_runner
from search import greedy_search, make_budget
from supernet import get_space


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/demo/supernet_faster_rcnn_glyphs.py')
    parser.add_argument('--checkpoint', help='source super-network checkpoint (default: random)')
    parser.add_argument('--load-from', help='checkpoint of the whole super-network detector')
    parser.add_argument('--data-root', help='glyph set folder (default: write one to a temp dir)')
    parser.add_argument('--budget', type=int, default=6, help='block budget C of the search')
    parser.add_argument('--val-images', type=int, default=50)
    parser.add_argument('--recal-batches', type=int, default=10)
    parser.add_argument('--batch', type=int, default=8, help='images per batch (both loaders)')
    parser.add_argument('--finetune-epochs', type=int, default=0)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix='detection_search_cost.')
    data_root = args.data_root or str(write_coco_glyphs(f'{work}/glyphs', num_train=200,
                                                        num_val=args.val_images))
    cfg = Config.fromfile(args.config)
    cfg.work_dir = f'{work}/run'
    options = {'val_dataloader.dataset.indices': args.val_images,
               'train_dataloader.batch_size': args.batch, 'val_dataloader.batch_size': args.batch,
               'model.backbone.init_cfg': None if args.checkpoint is None else dict(
                   type='Pretrained', checkpoint=args.checkpoint, prefix='backbone.')}
    if args.finetune_epochs:
        options.update({'train_cfg.max_epochs': args.finetune_epochs,
                        'train_cfg.val_interval': args.finetune_epochs + 1})
    runner = build_runner(cfg, data_root=data_root, cfg_options=options)
    if args.load_from:
        runner.model.load_state_dict(load_checkpoint_safely(args.load_from)['state_dict'])
    elif args.finetune_epochs:
        start = time.perf_counter()
        runner.train()
        print(f'fine-tuned {args.finetune_epochs} epoch(s) with depth sampling in '
              f'{time.perf_counter() - start:.0f} s')
    else:
        runner.model.init_weights()

    evaluate = DetectionEvaluator(runner, num_recal_batches=args.recal_batches)
    space = runner.model.backbone.space
    result = greedy_search(space, args.budget, evaluate, counter=False)
    recal = [t['recalibration'] for t in evaluate.timings]
    evals = [t['evaluation'] for t in evaluate.timings]
    total = [r + e for r, e in zip(recal, evals)]
    print(f'\n{space.name}, budget C={args.budget} blocks: greedy chain '
          + result.format_chain()
          + f' (bbox mAP of the last: {result.best.score:.3f})')
    print(f'{len(total)} candidates, each: BN recalibration on {len(evaluate.recal_batches)}x'
          f'{args.batch} training images ({len(evaluate.recal_bns)} BatchNorms), then '
          f'CocoMetric on {len(evaluate.dataloader.dataset)} validation images; '
          f'{torch.get_num_threads()} thread(s)')
    print(f'seconds per candidate, median (min..max): recalibration '
          f'{statistics.median(recal):.2f} ({min(recal):.2f}..{max(recal):.2f}) + evaluation '
          f'{statistics.median(evals):.2f} ({min(evals):.2f}..{max(evals):.2f}) = '
          f'{statistics.median(total):.2f}; recalibration is '
          f'{100 * sum(recal) / sum(total):.0f}% of the search time')

    print('\ncandidates evaluated, greedy vs exhaustive over the same block budget:')
    print(f'{"space":<24}{"C":>4}{"greedy":>9}{"exhaustive":>12}{"ratio":>8}')
    rows = [(space.name, args.budget, result.num_evaluated)]
    paper = get_space('resnet_bottleneck')
    rows += [(paper.name, c, paper.num_stages * (c - paper.num_stages)) for c in (12, 16, 17, 33)]
    for name, limit, greedy in rows:
        exhaustive = len(make_budget(name, 'blocks', limit).frontier())
        print(f'{name:<24}{limit:>4}{greedy:>9}{exhaustive:>12}{exhaustive / greedy:>8.1f}')
    seconds = statistics.mean(total)
    exhaustive = len(make_budget(space, 'blocks', args.budget).frontier())
    print(f'\nat {seconds:.2f} s per candidate: greedy {result.num_evaluated * seconds:.0f} s, '
          f'exhaustive {exhaustive * seconds:.0f} s for C={args.budget} on {space.name}')


if __name__ == '__main__':
    main()
