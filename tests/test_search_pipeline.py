"""tools/greedy_search.py end to end: fine-tune, search, log, result, resume, torchrun."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import engine.registry  # noqa: F401  (registers the backbones)
from archdata import prepare_demo_target
from common.checkpoint import atomic_save, load_checkpoint_safely
from supernet.extract import extract_subnet_checkpoint

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/demo/search_digits.py'
SEARCH = [sys.executable, str(ROOT / 'tools/greedy_search.py'), str(CONFIG)]


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('search')
    data = prepare_demo_target(tmp / 'digits')
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)  # an untrained super-network stands in for a trained one
    checkpoint = atomic_save({'state_dict': model.state_dict(),
                              'meta': {'space': 'resnet_bottleneck_demo'}}, tmp / 'supernet.pth')
    return tmp, data, checkpoint


def options(data, finetune_epochs):
    return ['--data-root', str(data), '--cfg-options',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'train_dataloader.batch_size=32', 'val_cfg.bn_recalibration_batches=2',
            f'search_cfg.finetune_epochs={finetune_epochs}',
            'search_cfg.evaluator.num_recal_batches=2']


def run(cmd, env=None):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT,
                            env=env)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    return result


def test_search_writes_log_result_and_plot_and_resumes(setup):
    tmp, data, checkpoint = setup
    work = tmp / 'single'
    args = ['--checkpoint', str(checkpoint), '--budget', '6', '--work-dir', str(work),
            *options(data, finetune_epochs=1)]
    first = run(SEARCH + args)
    assert 'chosen allocation' in first.stdout and '8 evaluated now, 0 reused' in first.stdout
    result = json.loads((work / 'result.json').read_text())
    assert [sum(r['allocation']) for r in result['chain']] == [4, 5, 6]
    assert result['best']['allocation'] == result['chain'][-1]['allocation']
    best = ','.join(map(str, result['best']['allocation']))
    assert f'next: python tools/extract_subnet.py {checkpoint} --allocation {best}\n' in first.stdout
    lines = (work / 'search_log.jsonl').read_text().splitlines()
    assert json.loads(lines[0])['meta']['finetune_epochs'] == 1 and len(lines) == 1 + 8 + 2
    assert json.loads(lines[0])['meta']['world_size'] == 1
    assert (work / 'chain.png').stat().st_size > 0 and (work / 'finetuned.pth').exists()
    # the runner's own checkpoints (weights + optimizer) go once finetuned.pth holds the result
    assert not list(work.glob('epoch_*.pth')) and not (work / 'last_checkpoint').exists()
    # The fine-tuned super-network records its space: the subnets the search scored can be
    # cut out of it without --space.
    extract_subnet_checkpoint(work / 'finetuned.pth', result['best']['allocation'], tmp / 'scored.pth')
    assert load_checkpoint_safely(tmp / 'scored.pth')['meta']['space'] == 'resnet_bottleneck_demo'

    # Without --resume an existing search is not overwritten; with it nothing is redone.
    refused = subprocess.run(SEARCH + args, capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and 'pass --resume' in refused.stderr
    again = run(SEARCH + args + ['--resume'])
    assert '0 evaluated now, 8 reused' in again.stdout
    assert json.loads((work / 'result.json').read_text())['chain'] == result['chain']


def test_search_logs_its_picks_and_sends_its_scores_to_tensorboard(setup):
    """The chain, the picks and the labelled scores reach the work dir: the mmengine log, the
    search log's pick lines, and TensorBoard's event files (one scalar per candidate)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tmp, data, checkpoint = setup
    work = tmp / 'tensorboard'
    result = run(SEARCH + ['--checkpoint', str(checkpoint), '--budget', '6', '--work-dir',
                           str(work), *options(data, finetune_epochs=0),
                           'visualizer.vis_backends.0.type=TensorboardVisBackend'])
    # the demo's metric='loss': the held-out mean log-likelihood of the true class
    assert '(held-out log-likelihood -' in result.stdout
    lines = [json.loads(line) for line in (work / 'search_log.jsonl').read_text().splitlines()]
    records = [line for line in lines[1:] if 'pick' not in line]
    picks = [line['pick'] for line in lines if 'pick' in line]
    chain = json.loads((work / 'result.json').read_text())['chain']
    assert [p['allocation'] for p in picks] == [r['allocation'] for r in chain[1:]]
    assert {p['score_name'] for p in picks} == {'held-out log-likelihood'}

    [log_file] = work.glob('*/*.log')  # the runner's log, not stdout only
    text = log_file.read_text()
    for pick in picks:
        label = '-'.join(map(str, pick['allocation']))
        assert f'took {label} ({pick["blocks"]} blocks), held-out log-likelihood ' \
            f'{pick["score"]:.4f}' in text
    assert 'chain: 1-1-1-1 -> ' in text and 'chosen allocation' in text

    [events] = work.glob('*/vis_data')
    scalars = EventAccumulator(str(events))
    scalars.Reload()
    candidates = scalars.Scalars('search/score')
    assert len(candidates) == len(records) == 8
    assert [e.value for e in candidates] == pytest.approx([r['score'] for r in records],
                                                          abs=1e-5)  # float32 in the file
    taken = scalars.Scalars('search/chain')  # step: the allocation's blocks
    assert [e.step for e in taken] == [p['blocks'] for p in picks] == [5, 6]
    assert [e.value for e in taken] == pytest.approx([p['score'] for p in picks], abs=1e-5)


def test_two_process_search_takes_the_same_chain(setup):
    tmp, data, checkpoint = setup
    chains = {}
    for procs in (1, 2):
        work = tmp / f'procs{procs}'
        args = ['--checkpoint', str(checkpoint), '--budget', '6', '--work-dir', str(work),
                *options(data, finetune_epochs=0)]
        env = {**os.environ, 'OMP_NUM_THREADS': '1', 'TRAIN_SCRIPT': SEARCH[1],
               'PATH': f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}'}
        if procs == 1:
            run(SEARCH + args, env=env)
        else:
            import socket
            with socket.socket() as s:
                s.bind(('127.0.0.1', 0))
                env['PORT'] = str(s.getsockname()[1])
            run(['bash', str(ROOT / 'tools/dist_train.sh'), str(CONFIG), '2', '--dist-backend',
                 'gloo', *args], env=env)
        chains[procs] = json.loads((work / 'result.json').read_text())['chain']
        meta = json.loads((work / 'search_log.jsonl').read_text().splitlines()[0])['meta']
        assert meta['world_size'] == procs
    assert [r['allocation'] for r in chains[1]] == [r['allocation'] for r in chains[2]]
    for one, two in zip(chains[1][1:], chains[2][1:]):
        assert one['score'] == pytest.approx(two['score'], abs=1e-9)


@pytest.fixture(scope='module')
def runner(setup):
    """The demo search's runner, its training loader with two workers (random crops)."""
    from engine.launch import build_runner
    tmp, data, checkpoint = setup
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp / 'runner')
    return build_runner(cfg, data_root=str(data), cfg_options={
        'model.backbone.init_cfg.checkpoint': str(checkpoint), 'train_dataloader.num_workers': 2,
        'train_dataloader.batch_size': 8, 'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False})


def test_recalibration_batches_do_not_depend_on_the_number_of_processes(runner, monkeypatch):
    """With loader workers, mmengine seeds worker w of rank r with num_workers * r + w + seed:
    rank 1 of 2 read other random crops than one process reads, and a search resumed on another
    number of GPUs mixed two recalibration sets. Now the ranks' shares are one process's batches,
    for a count that is a multiple of the processes or not."""
    import mmengine.runner.runner as mmengine_runner
    from engine import evaluators

    def read(count, rank=0, world_size=1, split=True):
        monkeypatch.setattr(evaluators, 'get_dist_info', lambda: (rank, world_size))
        monkeypatch.setattr(mmengine_runner, 'get_rank', lambda: rank)
        return [torch.stack(batch['inputs']) for batch in
                evaluators.recalibration_batches(runner, count, **({} if split else
                                                                   dict(split=False)))]

    one = read(4)
    assert not torch.equal(one[0], one[2])  # random crops, drawn by two workers
    shares = [read(4, rank, 2) for rank in (0, 1)]
    assert [torch.equal(a, b) for a, b in zip(one, [shares[0][0], shares[1][0], shares[0][1],
                                                     shares[1][1]])] == [True] * 4
    uneven = [read(3, rank, 2) for rank in (0, 1)]
    assert [len(share) for share in uneven] == [2, 1]
    assert torch.equal(uneven[1][0], one[1]) and torch.equal(uneven[0][1], one[2])
    assert [len(read(3, rank, 4)) for rank in range(4)] == [1, 1, 1, 0]
    every = read(3, 1, 2, split=False)  # what each rank reads when it takes all the batches
    assert all(torch.equal(a, b) for a, b in zip(every, one[:3])) and len(every) == 3


def test_validation_collects_results_in_the_work_dir(runner):
    """mmengine gathers the ranks' results through ./.dist_test under each process's current
    directory, which nodes sharing only the work dir do not share: the runner's validation
    (and test) metrics collect under the work dir."""
    runner.call_hook('before_val')
    metrics = runner.val_loop.evaluator.metrics
    assert metrics and all(m.collect_dir == os.path.join(runner.work_dir, '.dist_collect')
                           for m in metrics)
    assert os.path.isabs(metrics[0].collect_dir)


def test_the_log_records_the_number_of_processes_and_a_resume_on_another_warns(tmp_path):
    from engine.pipeline import check_world_size, with_world_size
    from search import SearchLog
    log = tmp_path / 'search_log.jsonl'
    meta = with_world_size(dict(space='resnet_bottleneck_demo'), str(log), 8)
    assert meta == dict(space='resnet_bottleneck_demo', world_size=8)
    SearchLog(log, meta=meta)
    with pytest.warns(UserWarning, match='written by 8 processes, this run has 2: the same '
                      'recalibration batches'):
        check_world_size(str(log), 2)
    resumed = with_world_size(dict(space='resnet_bottleneck_demo'), str(log), 2)
    assert len(SearchLog(log, meta=resumed)) == 0  # reopened, not refused
    old = tmp_path / 'old.jsonl'  # written before the number was recorded
    SearchLog(old, meta=dict(space='resnet_bottleneck_demo'))
    with pytest.warns(UserWarning, match='does not record its number of processes'):
        check_world_size(str(old), 2)
    SearchLog(old, meta=with_world_size(dict(space='resnet_bottleneck_demo'), str(old), 2))
