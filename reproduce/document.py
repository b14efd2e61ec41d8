"""Run every section into one JSON, and render the markdown report and its figures from it."""
from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import time
from pathlib import Path

import torch

from common.checkpoint import atomic_write_text
from common.lock import WorkDirLock
from engine.progress import progress

from . import architecture, headline, hetero, inheritance, receptive_field, searches, trajectory
from .context import SPACE, ReportContext
from .parallel import Beside
from .render import allocation, epochs, num, plus_minus, table
from .settings import Settings

SECTIONS = (headline, architecture, searches, inheritance, hetero, receptive_field,
            trajectory)  # shown
# the headline after the sections whose picks and fine-tunes it reuses, and before the transfer
# section, which waits for the second process
COMPUTE_ORDER = (searches, trajectory, architecture, inheritance, headline, hetero,
                 receptive_field)
WORK_MARKER = '.archtransfer-report'


def run_report(settings: Settings, out_dir, seed: int = 0, supernet=None, data_root=None,
               command: str = 'python tools/report.py', resume: bool = False,
               config_dir='configs', processes: int = 2) -> dict:
    """Compute every section and write ``out_dir/report.json``; returns the report.

    Args:
        settings: :data:`~reproduce.settings.FULL` or ``REDUCED`` (or a variant).
        out_dir: where ``report.json`` goes (and, by :func:`render_report`, the rest);
            ``out_dir/work`` is scratch space, emptied first.
        seed: the seed of everything random in the run.
        supernet: a trained demo super-network checkpoint; ``None`` trains one and keeps it as
            ``out_dir/supernet.pth``.
        data_root: where the demo data are written; default ``data/demo`` (``data/demo_reduced``
            for a reduced run, so the two never mix).
        command: the command line recorded with every section.
        resume: keep ``out_dir/work`` from an earlier run with the same settings and seed (one
            that was stopped) and reuse what it finished: the super-network trained there, the
            target fine-tuning, the search log's evaluations and the subnet fine-tunes.
        config_dir: the repository's ``configs/`` folder (the demo configs are read from it).
        processes: 2 runs the transfer section and the last target seed's searches in a second
            process (:mod:`~reproduce.parallel`), 1 runs everything in this one; the results
            are the same.
    """
    with WorkDirLock(out_dir):  # a second report into the same folder is refused at once
        return _run_report(settings, Path(out_dir), seed, supernet, data_root, command, resume,
                           config_dir, processes)


def _run_report(settings, out_dir: Path, seed, supernet, data_root, command, resume,
                config_dir, processes) -> dict:
    start = time.perf_counter()
    run_key = dict(settings=settings.to_dict(), seed=seed,
                   supernet=None if supernet is None else str(supernet))
    work_dir = _work_dir(out_dir / 'work', run_key, resume)
    data_root = data_root or ('data/demo' if settings.mode == 'full' else 'data/demo_reduced')
    ctx = ReportContext(settings, seed, work_dir, data_root, supernet,
                        keep_supernet=out_dir / 'supernet.pth', config_dir=config_dir)
    ctx.check_given_supernet()
    hetero.check_pairs(settings)
    data = ctx.prepare_data()
    with Beside(processes, log=work_dir / 'second_process.log') as ctx.beside:
        if ctx.beside.parallel:
            print(f'a second process runs the transfer section, the last target seed\'s '
                  f'searches and half the headline\'s training; its progress: {ctx.beside.log}',
                  flush=True)
        hetero.start(ctx)  # needs no super-network: from the start, beside it
        ctx.supernet  # noqa: B018  (train it now, so section times are their own)
        searches.start(ctx)  # the last target seed, beside the others
        headline.start(ctx)  # the default's source-side models, beside the searches
        ctx.target()  # fine-tune on the target (first seed; the others in section 2)
        setup_seconds = round(time.perf_counter() - start, 1)

        report = {}
        for section in progress(COMPUTE_ORDER, 'report sections'):
            section_start = time.perf_counter()
            result = section.compute(ctx, report)
            result.update(title=section.TITLE, command=command, seed=seed)
            # a section run in the second process brings its own time, not this one's wait
            result.setdefault('seconds', round(time.perf_counter() - section_start, 1))
            report[section.KEY] = result
    meta = dict(command=command, seed=seed, mode=settings.mode, settings=settings.to_dict(),
                processes=processes,
                space=SPACE, data=data, supernet=ctx.supernet_info,
                setup_seconds=setup_seconds, minutes=round((time.perf_counter() - start) / 60, 1),
                reused=ctx.reused,
                finished=datetime.datetime.now().isoformat(timespec='seconds'),
                torch=torch.__version__, threads=torch.get_num_threads(),
                machine=f'{platform.machine()}, {os.cpu_count()} CPUs')
    document = dict(meta=meta, sections={s.KEY: report[s.KEY] for s in SECTIONS})
    atomic_write_text(out_dir / 'report.json', json.dumps(document, indent=1, allow_nan=False))
    return document


def render_report(report, out_dir=None) -> Path:
    """Draw every figure and write ``README.md`` from a report (a dict or a ``report.json``
    path; ``out_dir`` defaults to the JSON's folder). Returns the markdown's path."""
    if not isinstance(report, dict):
        path = Path(report)
        out_dir = out_dir or path.parent
        report = json.loads(path.read_text())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [_header(report)]
    for section in SECTIONS:
        data = report['sections'][section.KEY]
        section.plot(data, out_dir / section.FIGURE)
        parts.append(f'## {section.TITLE}\n\n{section.markdown(data)}')
    path = out_dir / 'README.md'
    path.write_text('\n\n'.join(parts) + '\n')
    return path


def claims(report: dict) -> list:
    """One row per section: the claim, and what this run measured."""
    s = report['sections']
    arch, search, inherit = s['architecture'], s['search'], s['inheritance']
    headline_claim = headline.claim_lines(s['headline'])[0]
    transfer, erf = s['transfer'], s['erf']
    summary = search['summary']
    best = transfer['summary'][transfer['best_method']]
    erf_verdict = {None: 'greedy chose ResNet-50\'s allocation itself', True: 'yes',
                   False: 'no'}[erf['greedy_wider_than_resnet50']]

    def test(method):
        return plus_minus(summary[method]['test']['mean'], summary[method]['test']['std'])

    return [
        ['0', 'the searched subnet beats the default allocation (paper Tables 1, 3)',
         headline_claim],
        ['1', 'the best source network is not the best target network',
         f'best on source {allocation(arch["best_source"])}, best on target '
         f'{allocation(arch["best_target"])}; τ(source, target) '
         f'{num(arch["tau_source_target"], sign=True)}'],
        ['2', 'greedy search finds a good allocation with few evaluations',
         f'test top-1 over {len(search["seeds"])} seeds: greedy {test("greedy")} with '
         f'{num(summary["greedy"]["evaluations"], 1)} evaluations, exhaustive optimum '
         f'{test("exhaustive")} with {search["frontier_size"]}, random {test("random")} and '
         f'evolution {test("evolution")} at greedy\'s count'],
        ['3', 'inherited weights beat random init after equal fine-tuning',
         f'greedy pick, {len(inherit["per_seed"])} seeds: {num(inherit["mean_gap"], sign=True)} '
         f'± {num(inherit["std_gap"])} points (random init {num(inherit["mean_random"])}%)'],
        ['4', 'heterogeneous transfer beats random init',
         f'best: {transfer["best_method"]}, mean ratio {num(best["mean_ratio"])}, above 1 on '
         f'{best["pairs_above_1"]} of {len(transfer["pairs"])} pairs; share of the pretraining '
         f'gain: ' + ', '.join(f'{m} {num(transfer["summary"][m]["mean_share"])}'
                               for m in transfer['methods'])
         + f' (smallest pretraining gap {num(transfer["min_gap"])} points)'],
        ['5', 'the transferred allocation has a wider ERF than ResNet-50\'s', erf_verdict],
    ]


def _header(report: dict) -> str:
    meta = report['meta']
    settings, supernet = meta['settings'], meta['supernet']
    parts = settings['target_per_class']
    if supernet.get('trained_here'):
        recipe = settings.get('supernet_recipe', 'uniform')
        source = (f'trained here with the `{recipe}` recipe for {supernet["iterations"]} '
                  f'iterations in '
                  f'{num(supernet["seconds"], 1)} s (held-out top-1: deepest subnet '
                  f'{num(supernet["max_top1"])}%, shallowest {num(supernet["min_top1"])}%)')
    else:
        source = f'reused from `{supernet["checkpoint"]}`'
    rows = [[s['title'] + (' (in the second process)' if s.get('beside') else ''),
             num(s['seconds'], 1)] for s in report['sections'].values()]
    reused = meta.get('reused', {})
    resumed = ''
    if any(reused.values()):  # --resume: the minutes above are this run's only
        resumed = (' It resumed a stopped run and took from it: '
                   + ', '.join(f'{k.replace("_", " ")} {"yes" if v is True else v}'
                               for k, v in reused.items() if v) + '.')
    return '\n\n'.join([
        '# The paper\'s claims in miniature',
        f'Made by `{meta["command"]}` (mode {meta["mode"]}, seed {meta["seed"]}) in '
        f'{num(meta["minutes"], 1)} min on {meta["machine"]} with {meta["threads"]} torch '
        f'thread(s), finished {meta["finished"]}. Every number and figure below is rendered from '
        f'[report.json](report.json), written by that run.{resumed}',
        f'**Setup.** Source: the five Fashion-MNIST classes that are not tops (trouser, '
        f'sandal, sneaker, bag, ankle boot), {settings["source_train_per_class"]} training and '
        f'{settings["source_val_per_class"]} held-out images per class. Target: the five tops '
        f'(t-shirt, pullover, dress, coat, shirt) in the CUB-200-2011 layout, per class '
        f'{parts[0]} labelled training images, {parts[1]} search, {parts[2]} rescore and '
        f'{parts[3]} test images, drawn anew for each of the {len(meta["data"]["target_seeds"])} '
        f'target seeds; no label is shared with the source. Super-network: `{meta["space"]}` '
        f'(the paper\'s bottleneck space, max depths [8, 10, 36, 14], at 1/8 width), {source}; '
        f'fine-tuned on each target with depth sampling for '
        f'{epochs(settings["target_finetune_epochs"])} before the searches '
        f'({num(meta["setup_seconds"], 1)} s for data, super-network and the first '
        f'fine-tuning).',
        table(['', 'claim (paper 004 / DPIAT)', 'this run'], claims(report)),
        table(['section', 'seconds'], rows)])


def _work_dir(path: Path, run_key: dict, resume: bool) -> Path:
    """``path``, marked as this report's scratch space: emptied first (only if an earlier report
    made it), or with ``resume`` kept when that report had the same ``run_key``."""
    marker = path / WORK_MARKER
    if path.exists() and any(path.iterdir()):
        if not marker.exists():
            raise FileExistsError(f'{path} exists and was not made by tools/report.py; choose '
                                  'another --out')
        if resume:
            stored = json.loads(marker.read_text() or 'null')
            if stored != json.loads(json.dumps(run_key)):
                raise FileExistsError(f'--resume: {path} belongs to a run with other settings, '
                                      'seed or --supernet; run without --resume to start over')
            return path
        shutil.rmtree(path)
    elif resume:
        raise FileNotFoundError(f'--resume: nothing to resume in {path}')
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(run_key))
    return path
