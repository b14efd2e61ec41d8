"""The detection search: a super-network Faster-RCNN fine-tuned with depth sampling on the
embedded COCO set, then greedy-searched with DetectionEvaluator (BN recalibration + CocoMetric),
resumable from its log."""
import copy
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import assert_search_state_unchanged, search_state
from mmengine.config import Config

from archdata import write_coco_glyphs
from common.batchnorm import batchnorms
from common.checkpoint import atomic_save, load_checkpoint_safely
from engine.detection import DetectionEvaluator
from engine.launch import build_runner
from search import ComplexityCounter, SearchLog, greedy_search
from supernet import build_backbone

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/demo/supernet_faster_rcnn_glyphs.py'


@pytest.fixture(scope='module')
def glyphs(tmp_path_factory):
    return write_coco_glyphs(tmp_path_factory.mktemp('glyphs'), num_train=4, num_val=3,
                             canvas=(64, 80), scale=(0.75, 1.5))


@pytest.fixture(scope='module')
def runner(glyphs, tmp_path_factory):
    """The demo super-network detector from a (random) source super-network checkpoint,
    fine-tuned for two iterations with depth sampling."""
    folder = tmp_path_factory.mktemp('search')
    torch.manual_seed(0)
    state = {f'backbone.{k}': v
             for k, v in build_backbone('resnet_bottleneck_demo').state_dict().items()}
    atomic_save({'state_dict': state, 'meta': {'space': 'resnet_bottleneck_demo'}},
                folder / 'supernet.pth')
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(folder)
    cfg.param_scheduler = []
    runner = build_runner(cfg, data_root=str(glyphs), cfg_options={
        'model.backbone.init_cfg.checkpoint': str(folder / 'supernet.pth'),
        'train_dataloader.batch_size': 2, 'val_dataloader.batch_size': 3,
        'val_dataloader.dataset.indices': 3, 'model.test_cfg.rcnn.score_thr': 0.0,
        'train_dataloader.num_workers': 0, 'val_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'val_dataloader.persistent_workers': False,
        'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 100,
        'default_hooks.checkpoint.interval': 100, 'custom_hooks.0.record': True})
    runner.train()
    return runner


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_finetuning_samples_depths(runner):
    records = [json.loads(line) for line in
               (Path(runner.work_dir) / 'depth_samples.rank0.jsonl').read_text().splitlines()]
    allocations = [tuple(r['allocation']) for r in records if 'allocation' in r]
    assert len(allocations) == 2 and allocations[0] != allocations[1]
    assert runner.model.backbone.allocation == (8, 10, 36, 14)  # evaluation: the deepest


def test_greedy_search_two_steps_then_resume_from_the_log(runner, tmp_path):
    model = runner.model
    model.train()  # as after fine-tuning: the search must leave the modes as it found them
    before = search_state(model)
    evaluate = DetectionEvaluator(runner, num_recal_batches=2)
    # norm_eval=False, frozen_stages=1: the BatchNorms of layer2..layer4 are recalibrated
    trainable = {id(m) for name in ('layer2', 'layer3', 'layer4')
                 for m in batchnorms(getattr(model.backbone, name))}
    assert {id(m) for m in evaluate.recal_bns} == trainable
    assert len(evaluate.recal_batches) == 2

    log_path = tmp_path / 'search.jsonl'
    result = greedy_search('resnet_bottleneck_demo', 6, evaluate,
                           log=SearchLog(log_path, meta={'space': 'resnet_bottleneck_demo'}))
    assert [sum(r.allocation) for r in result.chain] == [4, 5, 6]
    assert result.num_evaluated == 8 == len(evaluate.timings) == len(evaluate.results)
    assert all(t['recalibration'] > 0 and t['evaluation'] > 0 for t in evaluate.timings)
    for record in result.history:
        metrics = evaluate.results[record.allocation]
        assert record.score == metrics['coco/bbox_mAP'] and 'coco/bbox_mAP_50' in metrics
    assert_search_state_unchanged(model, before)

    def must_not_run(allocation):
        raise AssertionError(f'{allocation} was evaluated again')
    resumed = greedy_search('resnet_bottleneck_demo', 6, must_not_run, log=log_path)
    assert resumed.num_evaluated == 0 and resumed.num_reused == 8
    assert [r.allocation for r in resumed.chain] == [r.allocation for r in result.chain]

    # a search killed after five candidates: only the missing three run on resume
    lines = log_path.read_text().splitlines(keepends=True)
    assert '"pick"' in lines[1 + 4]  # meta, step 1's four records and its pick, ...
    log_path.write_text(''.join(lines[:1 + 4 + 1 + 1]))  # ... and step 2's first record
    again = greedy_search('resnet_bottleneck_demo', 6, evaluate, log=log_path)
    assert again.num_evaluated == 3 and len(evaluate.timings) == 8 + 3
    assert [r.allocation for r in again.chain] == [r.allocation for r in result.chain]
    assert_search_state_unchanged(model, before)


def test_recalibration_follows_what_training_updates(runner):
    model = runner.model
    before = search_state(model)
    auto = DetectionEvaluator(runner, num_recal_batches=1)
    stem_bn, layer3_bn = model.backbone.bn1, model.backbone.layer3[0].bn1
    with torch.no_grad():
        stem_bn.running_mean.fill_(7.0)
        layer3_bn.running_mean.fill_(7.0)
    frozen_stats = search_state(model)
    auto._recalibrate()
    assert torch.all(stem_bn.running_mean == 7.0)  # frozen stage: statistics kept
    assert not torch.all(layer3_bn.running_mean == 7.0)  # re-estimated
    model.load_state_dict(frozen_stats[0])
    auto((1, 1, 2, 1))
    assert_search_state_unchanged(model, frozen_stats)

    model.backbone.norm_eval = True  # BatchNorm frozen in training: nothing to recalibrate
    try:
        frozen = DetectionEvaluator(runner, num_recal_batches=1)
        assert frozen.recal_bns == [] and frozen.recal_batches == []
        # nothing recalibrated: nothing asked of the batch count
        assert DetectionEvaluator(runner, num_recal_batches=0).recal_batches == []
        assert len(DetectionEvaluator(runner, num_recal_batches=1, recalibrate=True).recal_bns) \
            == len(batchnorms(model))
    finally:
        model.backbone.norm_eval = False
        model.load_state_dict(before[0])
    with pytest.raises(ValueError, match=r"recalibrate='yes': allowed \('auto', True, False\)"):
        DetectionEvaluator(runner, recalibrate='yes')


def test_an_annotation_file_listing_unscored_images_is_refused(glyphs, tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path)
    runner = build_runner(cfg, data_root=str(glyphs), cfg_options={
        'model.backbone.init_cfg': None, 'val_dataloader.dataset.indices': 2,
        'val_evaluator.ann_file': str(glyphs / 'annotations/instances_val.json')})
    with pytest.raises(ValueError, match='lists 3 images but the validation dataloader scores 2'):
        DetectionEvaluator(runner, recalibrate=False)


def search_setup(glyphs, tmp_path, space, **search_cfg):
    """The detection search config on the glyph set (batches of 2, 3 validation images, one
    recalibration batch) with a seeded random super-network of ``space`` saved as
    ``tmp_path/supernet.pth``: the config ``run_search`` takes, every setting in it."""
    torch.manual_seed(0)
    state = {f'backbone.{k}': v for k, v in build_backbone(space).state_dict().items()}
    atomic_save({'state_dict': state}, tmp_path / 'supernet.pth')
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'search')
    cfg.search_cfg.update(search_cfg, budget=dict(kind='blocks', limit=5))
    cfg.search_cfg.evaluator.num_recal_batches = 1
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'supernet.pth')
    options = {f'{loader}.{key}': value
               for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
               for key, value in (('dataset.data_root', str(glyphs)), ('num_workers', 0),
                                  ('persistent_workers', False), ('batch_size', 2))}
    options.update({'val_dataloader.dataset.indices': 3, 'model.test_cfg.rcnn.score_thr': 0.0,
                    'param_scheduler': [], 'default_hooks.checkpoint.interval': 100})
    cfg.merge_from_dict(options)
    return cfg


def test_search_pipeline_runs_the_detection_config(glyphs, tmp_path):
    """engine.pipeline.run_search (tools/greedy_search.py) on the super-network detector config,
    its search_cfg naming the evaluator 'detection': fine-tune, search, log, result."""
    from engine import pipeline
    assert pipeline.EVALUATORS.get('detection') is DetectionEvaluator
    cfg = search_setup(glyphs, tmp_path, 'resnet_bottleneck_demo', finetune_epochs=1)
    before = copy.deepcopy(cfg)
    result = pipeline.run_search(cfg, progress=False)
    assert cfg.to_dict() == before.to_dict() and torch.is_grad_enabled()  # no side effects
    assert [sum(r.allocation) for r in result.chain] == [4, 5]
    assert result.num_evaluated == 4
    log = [json.loads(line) for line in (tmp_path / 'search/search_log.jsonl').read_text()
           .splitlines()]
    assert log[0]['meta']['evaluator'] == dict(type='detection', num_recal_batches=1,
                                               recalibrate='auto')
    # FLOPs counted at the detector's input (the val pipeline resizes to 128 px), not 224 px
    counter = ComplexityCounter('resnet_bottleneck_demo', (3, 128, 128))
    assert all(r['flops'] == counter.flops(r['allocation']) for r in log[1:] if 'pick' not in r)
    assert not list((tmp_path / 'search').glob('epoch_*.pth'))
    assert (tmp_path / 'search/result.json').exists()


def test_two_process_search_scores_as_one_process(glyphs, tmp_path):
    """tools/greedy_search.py on two gloo processes: the ranks split the recalibration batches
    (3: two and one, weighted; a count that is not a multiple of the processes was refused) and
    the validation images, and the logged scores equal a single process's."""
    torch.manual_seed(0)
    state = {f'backbone.{k}': v
             for k, v in build_backbone('resnet_bottleneck_demo').state_dict().items()}
    atomic_save({'state_dict': state}, tmp_path / 'supernet.pth')
    options = {f'{loader}.{key}': value
               for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
               for key, value in (('dataset.data_root', str(glyphs)), ('num_workers', 0),
                                  ('persistent_workers', False), ('batch_size', 1))}
    options.update({'val_dataloader.dataset.indices': 3, 'model.test_cfg.rcnn.score_thr': 0.0,
                    'param_scheduler': [], 'default_hooks.checkpoint.interval': 100,
                    'search_cfg.finetune_epochs': 1, 'search_cfg.evaluator.num_recal_batches': 3})
    work = tmp_path / 'search'
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PORT': str(free_port()), 'PYTHONPATH': str(ROOT),
           'TRAIN_SCRIPT': str(ROOT / 'tools/greedy_search.py'),
           'PATH': f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}'}
    cmd = ['bash', str(ROOT / 'tools/dist_train.sh'), str(CONFIG), '2', '--dist-backend', 'gloo',
           '--checkpoint',
           str(tmp_path / 'supernet.pth'), '--budget', '5', '--work-dir', str(work),
           '--cfg-options', *(f'{k}={v}' for k, v in options.items())]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    logged = {tuple(r['allocation']): r['score'] for r in
              map(json.loads, (work / 'search_log.jsonl').read_text().splitlines()[1:])
              if 'pick' not in r}
    assert len(logged) == 4
    meta = json.loads((work / 'search_log.jsonl').read_text().splitlines()[0])['meta']
    assert meta['world_size'] == 2

    # One process, the weights the two fine-tuned, the same batches and images.
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'single')
    runner = build_runner(cfg, cfg_options={**options, 'model.backbone.init_cfg': None})
    runner.model.load_state_dict(load_checkpoint_safely(work / 'finetuned.pth')['state_dict'])
    evaluate = DetectionEvaluator(runner, num_recal_batches=3)
    assert {a: evaluate(a) for a in logged} == pytest.approx(logged, abs=1e-9)


def test_candidates_past_the_maximum_are_transferred_and_the_detector_restored(runner):
    from search import TransferringEvaluator
    model = runner.model
    model.train()
    before = search_state(model)
    detection = DetectionEvaluator(runner, num_recal_batches=2)
    subnet = (2, 1, 3, 1)  # the swapped-in subnet scores as the super-network at it
    assert detection.score_backbone(model.backbone.get_subnet(subnet), subnet) == \
        pytest.approx(detection(subnet), abs=1e-9)
    evaluate = TransferringEvaluator(detection)
    score = evaluate((9, 1, 3, 1))  # layer1 holds at most 8 blocks
    assert 0 <= score <= 1 and (9, 1, 3, 1) in detection.results
    assert evaluate.transferred((9, 1, 3, 1)) == {'method': 'dpiat', 'source': [8, 1, 3, 1],
                                                  'coverage': 1.0}
    assert_search_state_unchanged(model, before)


def test_search_pipeline_past_the_maximum(glyphs, tmp_path, monkeypatch):
    """run_search with search_cfg.beyond_max on a detector whose super-network has max depths
    (2, 1, 1, 1): three of the four first subnets lie past it and are transferred."""
    import dataclasses

    from engine import pipeline
    from supernet import get_space, spaces
    demo = get_space('resnet_bottleneck_demo')
    shallow = demo.replace(name='demo_shallow', stages=tuple(
        dataclasses.replace(s, max_depth=m, default_depth=1)
        for s, m in zip(demo.stages, (2, 1, 1, 1))))
    monkeypatch.setitem(spaces._SPACES, 'demo_shallow', shallow)
    cfg = search_setup(glyphs, tmp_path, shallow, finetune_epochs=0, beyond_max=1,
                       transfer_method='tli')
    cfg.model.backbone.space = 'demo_shallow'
    with pytest.warns(UserWarning, match='finetune_epochs=0'):
        result = pipeline.run_search(cfg, progress=False)
    lines = [json.loads(line) for line in
             (tmp_path / 'search/search_log.jsonl').read_text().splitlines()]
    assert lines[0]['meta']['transfer_method'] == 'tli'
    transferred = {tuple(r['allocation']): r['transferred'] for r in lines[1:] if 'pick' not in r}
    assert transferred == {(2, 1, 1, 1): None,
                           **{a: {'method': 'tli', 'source': [1, 1, 1, 1], 'coverage': 1.0}
                              for a in [(1, 2, 1, 1), (1, 1, 2, 1), (1, 1, 1, 2)]}}
    assert result.best.transferred == transferred[result.best.allocation]


def _weighted_recalibration(rank, port, batches, out):
    """One rank of a 2-process gloo group: recalibrate on this rank's share of ``batches``
    (two and one), average weighted by the shares."""
    from common.batchnorm import recalibrate_bn
    from common.batchnorm import average_across_ranks
    from engine.evaluators import recalibration_share
    torch.distributed.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                                         rank=rank, world_size=2)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    share = [batches[i] for i in recalibration_share(len(batches), rank, 2)]
    recalibrate_bn(model, share)
    average_across_ranks([model[1]], len(share), len(batches))
    torch.save({k: v for k, v in model[1].state_dict().items()}, os.path.join(out, f'{rank}.pt'))
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_unequal_shares_average_to_one_process_statistics(tmp_path):
    """Three recalibration batches on two ranks: the weighted mean of the ranks' statistics is
    what one process reading the three estimates (an unweighted mean is not)."""
    import torch.multiprocessing as mp
    torch.manual_seed(1)
    batches = [torch.randn(4, 3, 5, 5) * (i + 1) + i for i in range(3)]
    mp.spawn(_weighted_recalibration, args=(free_port(), batches, str(tmp_path)), nprocs=2)
    torch.manual_seed(0)
    single = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    from common.batchnorm import recalibrate_bn
    recalibrate_bn(single, batches)
    for rank in (0, 1):
        stats = torch.load(tmp_path / f'{rank}.pt')
        assert torch.allclose(stats['running_mean'], single[1].running_mean, atol=1e-5)
        assert torch.allclose(stats['running_var'], single[1].running_var, atol=1e-4)


def test_the_detection_evaluator_collects_results_in_the_work_dir(runner):
    """Not mmengine's ./.dist_test under each process's current directory (issue 31): the work
    dir, which every node shares."""
    evaluate = DetectionEvaluator(runner, num_recal_batches=1)
    assert [m.collect_dir for m in evaluate.evaluator.metrics] == \
        [os.path.join(runner.work_dir, '.dist_collect')]
