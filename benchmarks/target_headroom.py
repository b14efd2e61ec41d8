"""Does the target leave room to tell allocations and initialisations apart?

    python benchmarks/target_headroom.py --supernet work_dirs/supernet_split/iter_600.pth
    python benchmarks/target_headroom.py --supernet ... --seeds 0 1 2 --bootstrap 1000
    python benchmarks/target_headroom.py --records report/work/seed*/per_image.npz  # step 2
                                          # only, on a report's saved scores (no training)

1. Fine-tunes the source super-network on the target with depth sampling (the search config's
   schedule) and scores every allocation of C blocks with the search's evaluator (BatchNorm
   recalibration on training batches, then the held-out 'search' part); one pass per allocation
   gives both top-1 and mean log-likelihood.
2. Prints, per metric, the bootstrap standard error (over the 'search' images) of the best
   allocation's score, how many allocations lie within one standard error of it (also on fewer
   search images, and projected to more: the same means with the standard error shrunk by
   1/sqrt(k) for k times the images, which counts the allocations whose *measured* gap to the
   best stays inside the smaller noise; an estimate of the images a target needs, not a
   measurement), Kendall tau between the metrics, and how the search's pick fares when the
   best few by each metric are re-scored on the second held-out part ('rescore': data that did
   not choose them).
3. Fine-tunes the best allocation and the space's default (ResNet-50's proportions) from
   inherited weights (the source super-network, as tools/extract_subnet.py cuts them) and from
   random init, for --subnet-epochs with the subnet config's data, once per seed, and prints test
   top-1 (the 'test' part, touched by nothing else) as mean ± std over seeds, and the gap.
"""
import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config

from archdata import prepare_tops_target
from engine.evaluators import classification_evaluator
from engine.pipeline import finetune_supernet
from engine.training import finetune_subnet
from reproduce.searches import frontier_records
from search import crowd_at_the_top, kendall_tau, make_budget
from search.plan import set_supernet_checkpoint
from supernet.extract import extract_subnet_checkpoint


def build_evaluators(runner, num_recal_batches: int) -> dict:
    """The search's evaluator on each held-out part ('search', 'rescore'), both recalibrating
    on the same training batches; each keeps its last candidate's per-image records."""
    return {part: classification_evaluator(runner, num_recal_batches, val_dataset=dict(part=part))
            for part in ('search', 'rescore')}


def rank_of(scores: np.ndarray, i: int) -> int:
    return 1 + int(np.sum(scores > scores[i]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--supernet', help='source super-network checkpoint (required '
                        'unless --records)')
    parser.add_argument('--records', nargs='+', type=Path,
                        help="saved per-image scores (a report's work/seed*/per_image.npz): "
                             'print the headroom figures of step 2 for each, train nothing')
    parser.add_argument('--project', type=int, nargs='*', default=[2, 4, 8, 16],
                        help='also project the count within 1 SE to k times the search images')
    parser.add_argument('--search-config', default='configs/demo/search_tops.py')
    parser.add_argument('--finetune-config', default='configs/demo/finetune_subnet_tops.py')
    parser.add_argument('--work-dir', default='work_dirs/target_headroom')
    parser.add_argument('--budget', type=int, default=16, help='blocks of every allocation')
    parser.add_argument('--finetune-epochs', type=int, default=None,
                        help="super-network epochs on the target (default: the config's)")
    parser.add_argument('--subnet-epochs', type=int, default=8,
                        help="subnet fine-tuning epochs (the report's standard: 8)")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                        help='subnet fine-tuning seeds; the first also seeds the super-network')
    parser.add_argument('--bootstrap', type=int, default=1000)
    parser.add_argument('--rescore-top', type=int, default=10,
                        help='re-score the best N allocations by each metric on the rescore part')
    parser.add_argument('--subsets', type=int, nargs='*', default=[250, 500, 1000],
                        help='also count within 1 SE on N randomly drawn search images')
    parser.add_argument('--skip-subnets', action='store_true')
    args = parser.parse_args()
    if args.records:
        for path in args.records:
            if not path.is_file():
                parser.error(f'--records {path}: no such file')
    elif not args.supernet:
        parser.error('--supernet is required (or --records to read saved scores)')
    print('command:', shlex.join([sys.executable] + sys.argv))
    if args.records:
        for path in args.records:
            with np.load(path) as stored:
                print(f'\n{path}: {len(stored["allocations"])} allocations, '
                      f'{stored["correct"].shape[1]} search images')
                for k, metric in enumerate(('top-1', 'log-likelihood')):
                    per_image = stored[('correct', 'loglik')[k]]
                    print_headroom(metric, per_image, args)
        return
    print('seeds:', args.seeds, '| bootstrap resamples:', args.bootstrap)
    work = Path(args.work_dir)
    timings = {}

    cfg = Config.fromfile(args.search_config)
    prepare_tops_target(cfg.train_dataloader.dataset.data_root)
    cfg.work_dir = str(work / 'target_supernet')
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=args.seeds[0])
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    if args.finetune_epochs is not None:
        cfg.search_cfg.finetune_epochs = args.finetune_epochs
    epochs = cfg.search_cfg.finetune_epochs
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=epochs,
                                eta_min=1e-3)]
    set_supernet_checkpoint(cfg, args.supernet)
    start = time.perf_counter()
    with torch.enable_grad():
        runner = finetune_supernet(cfg)  # reuses work_dir/finetuned.pth when there
    timings['target fine-tuning'] = time.perf_counter() - start

    evaluators = build_evaluators(runner, cfg.search_cfg.evaluator.num_recal_batches)
    space = evaluators['search'].backbone.space
    frontier = make_budget(space, 'blocks', args.budget, counter=False).frontier()
    start = time.perf_counter()
    (work / 'per_image.npz').unlink(missing_ok=True)  # timed: score anew, never reuse
    records = frontier_records(evaluators['search'], frontier, work / 'per_image.npz')
    timings['exhaustive search'] = time.perf_counter() - start
    correct, loglik = records['correct'], records['loglik']
    n_search = correct.shape[1]
    print(f'\ntarget: {cfg.train_dataloader.dataset.data_root} | super-network fine-tuned '
          f'{epochs} epochs | {len(frontier)} allocations of C = {args.budget} blocks in '
          f'{space.name} | recalibration: {cfg.search_cfg.evaluator.num_recal_batches} '
          f'training batches | {n_search} search images')
    print(f'exhaustive search: {timings["exhaustive search"]:.0f} s '
          f'({timings["exhaustive search"] / len(frontier):.2f} s per allocation; every '
          'shared prefix of blocks runs once)')
    summary = dict(command=sys.argv, seeds=args.seeds, allocations=len(frontier),
                   n_search=n_search)
    scores, stats = {}, {}
    for metric, per_image in (('top-1', correct), ('log-likelihood', loglik)):
        scores[metric] = per_image.mean(1)
        stats[metric] = crowd_at_the_top(per_image, args.bootstrap, args.seeds[0])
    # Re-scoring: the best few by either metric, judged on images that did not choose them.
    shortlist = sorted({frontier[i] for metric in scores
                        for i in np.argsort(-scores[metric])[:args.rescore_top]})
    start = time.perf_counter()
    rescored = {}
    with torch.no_grad():
        for allocation in shortlist:
            evaluators['rescore'](allocation)
            rescored[allocation] = evaluators['rescore'].last_per_image
    timings['re-scoring'] = time.perf_counter() - start
    n_rescore = len(next(iter(rescored.values()))[0])
    print(f're-scoring: the best {args.rescore_top} by each metric ({len(shortlist)} '
          f'allocations) on {n_rescore} rescore images, {timings["re-scoring"]:.0f} s')
    for k, (metric, search) in enumerate(scores.items()):
        best, st = stats[metric]['best'], stats[metric]
        scale = 100 if metric == 'top-1' else 1
        share = 100 * st['within'] / len(frontier)
        print(f'\n[{metric}] best on search: {frontier[best]} = {scale * search[best]:.3f} '
              f'(median {scale * np.median(search):.3f}, worst {scale * search.min():.3f})')
        print(f'  bootstrap SE of the best score: {scale * st["se"]:.3f}; within 1 SE: '
              f'{st["within"]} of {len(frontier)} ({share:.1f} %; criterion <= 2 %: '
              f'{"PASS" if share <= 2 else "MISS"}); exact ties with the best: {st["ties"]}')
        paired_se = scale * st['median_paired_se']
        print(f'  paired (SE of each difference to the best, median {paired_se:.3f}): '
              f'{st["paired_within"]} trail it by at most one '
              f'({100 * st["paired_within"] / len(frontier):.1f} %)')
        fewer_and_more_images((correct, loglik)[k], st['se'], scale, args)
        again = np.array([rescored[a][k].mean() for a in shortlist])
        pick = shortlist.index(frontier[best])
        print(f'  the pick re-scored: {scale * again[pick]:.3f}, rank {rank_of(again, pick)} of '
              f'the {len(shortlist)} re-scored (their best there: '
              f'{shortlist[int(np.argmax(again))]} = {scale * again.max():.3f}); Kendall '
              f'tau(search, rescore) over them = '
              f'{kendall_tau([search[frontier.index(a)] for a in shortlist], again):+.3f}')
        summary[metric] = dict(st, best=list(frontier[best]), best_score=float(search[best]),
                               share=share, rescore_of_pick=float(again[pick]),
                               rescore_rank=rank_of(again, pick), shortlist=len(shortlist))
    tau = kendall_tau(scores['top-1'], scores['log-likelihood'])
    print(f'\nKendall tau(top-1, log-likelihood) on search over {len(frontier)} allocations: '
          f'{tau:+.3f}')
    summary['tau_metrics'] = tau

    if not args.skip_subnets:
        summary['subnets'] = fine_tune_subnets(args, space, frontier, scores, work, timings)
    print('\nseconds:', {k: round(v) for k, v in timings.items()})
    summary['seconds'] = timings
    (work / 'summary.json').write_text(json.dumps(summary, indent=1, default=str))


def fewer_and_more_images(per_image: np.ndarray, se: float, scale: float, args):
    """The count within 1 SE on a random draw of fewer search images (the part is stored class
    by class), and projected to ``k`` times as many (the same means, ``se`` (the bootstrap SE
    of the best score on all of them) / sqrt(k))."""
    candidates, n_search = per_image.shape
    for n in args.subsets:
        if n < n_search:
            keep = np.random.default_rng(args.seeds[0]).permutation(n_search)[:n]
            sub = crowd_at_the_top(per_image[:, keep], args.bootstrap, args.seeds[0])
            print(f'  with {n} of the search images: SE {scale * sub["se"]:.3f}, within '
                  f'1 SE {sub["within"]} ({100 * sub["within"] / candidates:.1f} %)')
    scores = per_image.mean(1)
    best = int(np.argmax(scores))
    gaps = np.delete(scores[best] - scores, best)
    for k in args.project:
        within = int(np.sum(gaps <= se / np.sqrt(k)))
        print(f'  projected to {k * n_search} search images (SE / sqrt({k}) = '
              f'{scale * se / np.sqrt(k):.3f}): within 1 SE {within} '
              f'({100 * within / candidates:.1f} %)')


def print_headroom(metric: str, per_image: np.ndarray, args):
    """Step 2's figures for one metric from saved per-image scores."""
    scale = 100 if metric == 'top-1' else 1
    st = crowd_at_the_top(per_image, args.bootstrap, args.seeds[0])
    share = 100 * st['within'] / len(per_image)
    print(f'[{metric}] bootstrap SE of the best score: {scale * st["se"]:.3f}; within 1 SE: '
          f'{st["within"]} of {len(per_image)} ({share:.1f} %; criterion <= 2 %: '
          f'{"PASS" if share <= 2 else "MISS"}); paired: {st["paired_within"]}')
    fewer_and_more_images(per_image, st['se'], scale, args)


def fine_tune_subnets(args, space, frontier, scores, work: Path, timings: dict) -> list:
    best = frontier[int(np.argmax(scores['top-1']))]
    picks = [best] + [a for a in (space.default_depths, frontier[len(frontier) // 2])
                      if sum(a) == args.budget and a != best][:1]
    print(f'\nsubnet fine-tuning: {args.subnet_epochs} epochs, {args.finetune_config}, test part; '
          f'allocations {picks} (search best, then the default or the middle of the frontier)')
    rows = []
    start = time.perf_counter()
    for allocation in picks:
        init = str(work / f'subnet_{"-".join(map(str, allocation))}.pth')
        extract_subnet_checkpoint(args.supernet, allocation, init)
        top1 = {}
        for kind, checkpoint in (('inherited', init), ('random', None)):
            top1[kind] = []
            for seed in args.seeds:
                cfg = Config.fromfile(args.finetune_config)
                cfg.randomness = dict(seed=seed)
                cfg.log_level = 'WARNING'
                with torch.enable_grad():
                    top1[kind].append(finetune_subnet(cfg, allocation, checkpoint,
                                                     str(work / 'subnets'),
                                                     epochs=args.subnet_epochs))
                print(f'  {allocation} {kind:9s} seed {seed}: test top-1 {top1[kind][-1]:.2f}',
                      flush=True)
        gaps = np.array(top1['inherited']) - np.array(top1['random'])
        row = dict(allocation=list(allocation), **top1, gap=gaps.tolist())
        rows.append(row)
        print(f'  {allocation}: inherited {np.mean(top1["inherited"]):.2f} ± '
              f'{np.std(top1["inherited"], ddof=1):.2f} | random '
              f'{np.mean(top1["random"]):.2f} ± {np.std(top1["random"], ddof=1):.2f} | gap '
              f'{gaps.mean():+.2f} ± {gaps.std(ddof=1):.2f} (criteria: gap >= 10: '
              f'{"PASS" if gaps.mean() >= 10 else "MISS"}; random <= 75: '
              f'{"PASS" if np.mean(top1["random"]) <= 75 else "MISS"})')
    timings['subnet fine-tuning'] = time.perf_counter() - start
    return rows


if __name__ == '__main__':
    main()
