"""The CUB layouts parse with the readers users point at real data."""
from pathlib import Path

import numpy as np
import pytest
from mmpretrain.datasets import CUB
from mmpretrain.registry import DATASETS

from supernet.datasets import (
    CUB2010,
    DIGITS_CLASSES,
    load_digits,
    prepare_demo_target,
    write_cub2010,
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

    import supernet  # noqa: F401
    model = MODELS.build(cfg.model)
    assert model.backbone.stage_blocks == cfg.model.backbone.stage_blocks
    assert model.head.num_classes == 200
