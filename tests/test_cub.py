"""The CUB layouts parse with the readers users point at real data."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmpretrain.datasets import CUB
from mmpretrain.registry import DATASETS

from archdata import (
    CUB2010,
    DIGITS_CLASSES,
    load_digits,
    prepare_demo_target,
    write_cub2010,
    write_cub2011,
)

ROOT = Path(__file__).resolve().parents[1]


def test_demo_target_parses_with_mmpretrain_cub(tmp_path):
    root = prepare_demo_target(tmp_path / 'digits')
    metainfo = dict(classes=DIGITS_CLASSES)
    train = CUB(data_root=str(root), split='train', metainfo=metainfo)
    test = CUB(data_root=str(root), split='test', metainfo=metainfo)
    _, labels = load_digits()
    assert len(train) + len(test) == len(labels) == 1797
    assert 0.25 < len(test) / len(labels) < 0.35
    assert sorted({train.get_data_info(i)['gt_label'] for i in range(len(train))}) == list(range(10))
    first = train.get_data_info(0)
    assert first['img_path'].endswith('.jpg') and DIGITS_CLASSES[first['gt_label']] in first['img_path']


def test_cub2010_layout_parses(tmp_path):
    images, labels = load_digits()
    is_train = np.arange(len(labels)) % 3 != 0
    root = write_cub2010(tmp_path / 'cub2010', images[:60], labels[:60], is_train[:60],
                         DIGITS_CLASSES)
    train = DATASETS.build(dict(type='CUB2010', data_root=str(root), split='train'))
    test = CUB2010(data_root=str(root), split='test')
    assert len(train) == 40 and len(test) == 20
    assert train.metainfo['classes'] == DIGITS_CLASSES
    for i in range(len(test)):
        info = test.get_data_info(i)
        assert f'{info["gt_label"] + 1:03d}.' in info['img_path']
        assert info['gt_label'] == labels[:60][~is_train[:60]][i]
    with pytest.raises(ValueError, match="split='val', allowed 'train', 'test'"):
        CUB2010(data_root=str(root), split='val')


def test_held_out_split_dataset_is_disjoint_from_its_training_part(tmp_path):
    root = prepare_demo_target(tmp_path / 'digits')
    inner = dict(type='CUB', data_root=str(root), split='train',
                 metainfo=dict(classes=DIGITS_CLASSES))
    parts = {part: DATASETS.build(dict(type='HeldOutSplit', dataset=inner, part=part,
                                       val_fraction=0.2)) for part in ('train', 'val')}
    paths = {part: {d.get_data_info(i)['img_path'] for i in range(len(d))}
             for part, d in parts.items()}
    assert not paths['train'] & paths['val']
    assert len(paths['train']) + len(paths['val']) == len(CUB(data_root=str(root), split='train',
                                                               metainfo=inner['metainfo']))


def test_held_out_split_copies_its_dataset_afresh(tmp_path):
    # mmengine's subset copy shares one deepcopy memo per process: an id it remembers (here made
    # to collide on purpose, as a freed and reused id does) must not hand back a stale object
    from mmengine.dataset import BaseDataset
    root = prepare_demo_target(tmp_path / 'digits')
    built = CUB(data_root=str(root), split='train', metainfo=dict(classes=DIGITS_CLASSES))
    BaseDataset._copy_without_annotation.__defaults__[0][id(built.pipeline)] = 'stale'
    part = DATASETS.build(dict(type='HeldOutSplit', dataset=built, part='val', val_fraction=0.2))
    assert callable(part.pipeline) and part.pipeline is not built.pipeline


@pytest.mark.parametrize('name', ['cub2011_transfer_r50', 'cub2011_r50', 'cub2010_transfer_r50'])
def test_cub_configs_follow_the_paper_recipe(name):
    from mmengine.config import Config
    cfg = Config.fromfile(ROOT / f'configs/classification/{name}.py')
    assert cfg.train_cfg.max_epochs == 100 and cfg.train_dataloader.batch_size == 64
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.param_scheduler[0].milestones == [30, 60, 80]
    crop = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomCrop'][0]
    assert crop.crop_size == 448
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    from mmpretrain.registry import MODELS

    import engine.registry  # noqa: F401  (what the config's custom_imports does)
    model = MODELS.build(cfg.model)
    assert model.backbone.stage_blocks == cfg.model.backbone.stage_blocks
    assert model.head.num_classes == 200


def test_cub2010_config_trains_and_tests_through_the_tool(tmp_path):
    """tools/train.py on the CUB-200 (2010) layout: the config's own dataset type (CUB2010, which
    only engine.registry registers) and layout, at 64 px, one epoch, from random weights."""
    images, labels = load_digits()
    keep = np.flatnonzero(labels < 3)[:18]  # 3 classes, 6 images each in the digits' order
    is_train = np.arange(len(keep)) % 3 != 0
    root = write_cub2010(tmp_path / 'cub2010', images[keep], labels[keep], is_train,
                         DIGITS_CLASSES[:3], size=32)
    small = {'model.backbone.init_cfg': None, 'train_cfg.max_epochs': 1,
             'default_hooks.logger.interval': 1}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        small.update({f'{loader}.batch_size': 4, f'{loader}.num_workers': 0,
                      f'{loader}.persistent_workers': False,
                      f'{loader}.dataset.pipeline.1.scale': 72,
                      f'{loader}.dataset.pipeline.2.crop_size': 64})
    cmd = [sys.executable, str(ROOT / 'tools/train.py'),
           str(ROOT / 'configs/classification/cub2010_transfer_r50.py'),
           '--work-dir', str(tmp_path / 'work'), '--data-root', str(root), '--test',
           '--cfg-options', *(f'{key}={value}' for key, value in small.items())]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'Epoch(train) [1][3/3]' in log  # 12 training images in batches of 4
    assert 'Epoch(test) [2/2]' in log and log.count('accuracy/top1:') >= 2  # val, then test
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_data_root_reaches_the_dataset_inside_a_wrapper(tmp_path):
    """--data-root on a config whose loaders wrap the dataset (HeldOutSplit around CUB): the
    inner dataset reads the new root, the wrapper gets no data_root it does not take."""
    from mmengine.config import Config

    from engine.launch import set_data_root
    images, labels = load_digits()
    root = write_cub2011(tmp_path / 'digits', images[:60], labels[:60],
                         np.arange(60) % 4 != 0, DIGITS_CLASSES)
    cfg = Config.fromfile(ROOT / 'configs/demo/search_digits.py')
    set_data_root(cfg, str(root))
    parts = []
    for loader in ('train_dataloader', 'val_dataloader'):
        assert cfg[loader].dataset.type == 'HeldOutSplit'
        dataset = DATASETS.build(cfg[loader].dataset)
        parts.append({dataset.get_data_info(i)['img_path'] for i in range(len(dataset))})
    train_images = {str(root / 'images' / line.split()[1])
                    for line, is_train in zip((root / 'images.txt').read_text().splitlines(),
                                              np.arange(60) % 4 != 0) if is_train}
    assert not parts[0] & parts[1] and parts[0] | parts[1] == train_images
    # wrappers of wrappers and lists of datasets too
    nested = Config(dict(train_dataloader=dict(dataset=dict(
        type='ConcatDataset', datasets=[
            dict(type='RepeatDataset', times=2, dataset=dict(type='CUB', data_root='old')),
            dict(type='CUB', data_root='old')]))))
    set_data_root(nested, 'new')
    inner = nested.train_dataloader.dataset.datasets
    assert [inner[0].dataset.data_root, inner[1].data_root] == ['new', 'new']
    assert 'data_root' not in nested.train_dataloader.dataset and 'data_root' not in inner[0]
