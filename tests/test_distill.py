"""Distillation in the weight-transfer step (engine.distill): a frozen teacher that no optimizer,
checkpoint or init_weights reaches, the loss its config describes, the connectors, the one-line
errors, and the step run as train_subnet runs it, its checkpoint loading into the plain
classifier."""
import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import randomize_batchnorm
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import engine.distill  # DistilledClassifier
import engine.registry  # noqa: F401  (the configs' backbones)
from archdata import prepare_split_source
from common.checkpoint import atomic_save, load_checkpoint_safely, read_state_dict
from engine.training import train_subnet
from supernet.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/demo/finetune_subnet_fashion_split_distill.py'
PLAIN_CONFIG = ROOT / 'configs/demo/finetune_subnet_fashion_split.py'
TEACHER_BLOCKS, STUDENT_BLOCKS = (1, 2, 1, 1), (1, 1, 1, 1)  # small, so the tests stay fast
NUM_CLASSES, LABEL_SMOOTH = 5, 0.1  # the demo's class-split source, its label smoothing


def write_teacher(model_cfg, path, seed=1) -> Path:
    torch.manual_seed(seed)
    teacher = randomize_batchnorm(MODELS.build(copy.deepcopy(model_cfg)), seed)
    with torch.no_grad():  # logits of a few units, so the KD term is far from zero
        teacher.head.fc.weight.mul_(10)
    atomic_save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return path


def demo_cfg(teacher_path, teacher_blocks=TEACHER_BLOCKS, **distill):
    cfg = Config.fromfile(CONFIG)
    cfg.model.teacher.model.backbone.stage_blocks = teacher_blocks
    cfg.model.teacher.checkpoint = str(teacher_path)
    cfg.model.backbone.stage_blocks = STUDENT_BLOCKS
    cfg.model.distill.update(distill)
    return cfg


def plain_model_cfg(**backbone):
    cfg = Config.fromfile(PLAIN_CONFIG).model
    cfg.backbone.update(stage_blocks=STUDENT_BLOCKS, **backbone)
    return cfg


@pytest.fixture(scope='module')
def teacher_file(tmp_path_factory):
    cfg = Config.fromfile(CONFIG).model.teacher.model
    cfg.backbone.stage_blocks = TEACHER_BLOCKS
    return write_teacher(cfg, tmp_path_factory.mktemp('teacher') / 'teacher.pth')


def batch(n=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(inputs=[torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8, generator=gen)
                        for _ in range(n)],
                data_samples=[DataSample().set_gt_label(i % NUM_CLASSES) for i in range(n)])


def test_teacher_stays_frozen_in_eval_mode_out_of_optimizer_and_checkpoint(teacher_file):
    cfg = demo_cfg(teacher_file)
    model = MODELS.build(cfg.model)
    model.init_weights()  # as the Runner does after building
    teacher, saved = model.teacher, read_state_dict(teacher_file)
    assert teacher.state_dict().keys() == saved.keys()
    assert all(torch.equal(teacher.state_dict()[k], v) for k, v in saved.items())

    model.train()
    assert model.training and model.backbone.training
    assert not any(m.training for m in teacher.modules())
    assert not any(p.requires_grad for p in teacher.parameters())

    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    optimized = {id(p) for group in optim.optimizer.param_groups for p in group['params']}
    assert not optimized & {id(p) for p in teacher.parameters()}
    assert {id(p) for p in model.distill_connectors.parameters()} <= optimized

    # the checkpoint's keys: the plain classifier's and the connectors', no teacher
    plain_keys = set(MODELS.build(plain_model_cfg()).state_dict())
    keys = set(model.state_dict())
    assert plain_keys <= keys
    assert keys - plain_keys and all(k.startswith('distill_connectors.')
                                     for k in keys - plain_keys)

    student = {k: v.clone() for k, v in model.state_dict().items()}
    log = model.train_step(batch(), optim)
    assert {'loss_label', 'loss_kd', 'loss_feature'} <= set(log)
    after = teacher.state_dict()
    assert all(torch.equal(after[k], v) for k, v in saved.items())  # weights and BN statistics
    assert not any(m.training for m in teacher.modules())
    moved = [k for k, v in model.state_dict().items() if not torch.equal(v, student[k])]
    assert any(k.endswith('conv1.weight') for k in moved)  # the student did train
    assert any(k.endswith('running_mean') for k in moved)

    model.double()  # .to / .cuda / .half carry the teacher along
    assert all(p.dtype == torch.float64 for p in teacher.parameters())


def hand_losses(model, inputs, labels, weights) -> dict:
    """The losses computed from the definition, through the plain forward paths."""
    temperature, label_weight, logit_weight, feature_weight, stages = weights
    teacher = model.teacher
    with torch.no_grad():
        student_logits = model(inputs, mode='tensor')
        teacher_logits = teacher(inputs, mode='tensor')
        for net in (model, teacher):
            net.backbone.out_indices = (0, 1, 2, 3)
        student_feats, teacher_feats = model.backbone(inputs), teacher.backbone(inputs)
        for net in (model, teacher):
            net.backbone.out_indices = (3, )
    expected = {}
    if label_weight:
        soft = F.one_hot(labels, NUM_CLASSES) * (1 - LABEL_SMOOTH) + LABEL_SMOOTH / NUM_CLASSES
        expected['loss_label'] = label_weight * -(
            soft * F.log_softmax(student_logits, 1)).sum(1).mean()
    if logit_weight:
        p = F.softmax(teacher_logits / temperature, 1)
        kl = (p * (p.log() - F.log_softmax(student_logits / temperature, 1))).sum(1).mean()
        expected['loss_kd'] = logit_weight * temperature ** 2 * kl
    if feature_weight:
        with torch.no_grad():
            mse = [((model.distill_connectors[str(i)](student_feats[i]) - teacher_feats[i]) ** 2)
                   .mean() for i in stages]
        expected['loss_feature'] = feature_weight * sum(mse) / len(mse)
    return expected


@pytest.mark.parametrize('distill, weights', [
    (dict(), (4.0, 1.0, 1.0, 1.0, (0, 1, 2, 3))),  # the defaults
    (dict(temperature=2.0, label_weight=0.5, logit_weight=0.0, feature_weight=3.0,
          feature_stages=(1, 3)), (2.0, 0.5, 0.0, 3.0, (1, 3))),
    (dict(temperature=1.5, label_weight=0.0, logit_weight=2.0, feature_weight=0.0),
     (1.5, 0.0, 2.0, 0.0, ())),
])
def test_loss_is_the_weighted_sum_the_config_gives(teacher_file, distill, weights):
    cfg = demo_cfg(teacher_file)
    cfg.model.distill = distill  # only these keys: the rest must be the defaults
    model = MODELS.build(cfg.model)
    randomize_batchnorm(model.backbone)
    stages = weights[-1]
    if stages:
        assert sorted(model.distill_connectors) == sorted(map(str, stages))
        with torch.no_grad():  # not the identity, so a connector left out would show
            for connector in model.distill_connectors.values():
                connector.conv.weight.normal_(0, 0.3)
                randomize_batchnorm(connector)
    else:
        assert model.distill_connectors is None  # nothing built for a dropped feature term
    model.train()
    data = model.data_preprocessor(batch(), True)
    inputs, samples = data['inputs'], data['data_samples']
    labels = torch.cat([s.gt_label for s in samples])

    losses = {k: v for k, v in model(inputs, samples, mode='loss').items() if 'loss' in k}
    expected = hand_losses(model, inputs, labels, weights)
    assert losses.keys() == expected.keys()
    for key, value in expected.items():
        assert value > 1e-3, key  # a term that would vanish could not tell right from wrong
        torch.testing.assert_close(losses[key], value, rtol=1e-5, atol=1e-6)


def test_connectors_are_the_identity_when_widths_match_else_projections(teacher_file, tmp_path):
    model = MODELS.build(demo_cfg(teacher_file).model)
    model.init_weights()
    for connector in model.distill_connectors.values():
        weight = connector.conv.weight[:, :, 0, 0]
        assert torch.equal(weight, torch.eye(len(weight)))
        features = torch.randn(2, len(weight), 5, 5)
        assert torch.allclose(connector.eval()(features), features, atol=1e-4)

    wide = get_space('resnet_bottleneck_demo').scaled(2.0, name='demo_x2')  # twice the widths
    cfg = demo_cfg(teacher_file)
    cfg.model.teacher.model.backbone.space = wide
    cfg.model.teacher.model.head.in_channels = 512
    cfg.model.teacher.checkpoint = str(write_teacher(cfg.model.teacher.model,
                                                     tmp_path / 'wide.pth'))
    model = MODELS.build(cfg.model)
    shapes = [tuple(c.conv.weight.shape) for c in model.distill_connectors.values()]
    assert shapes == [(64, 32, 1, 1), (128, 64, 1, 1), (256, 128, 1, 1), (512, 256, 1, 1)]
    data = model.data_preprocessor(batch(), True)
    losses = model.train()(data['inputs'], data['data_samples'], mode='loss')
    assert torch.isfinite(losses['loss_feature']) and losses['loss_feature'] > 0


def _unknown_key(cfg, _):
    cfg.model.distill.temprature = 2.0


def _zero_temperature(cfg, _):
    cfg.model.distill.temperature = 0


def _negative_weight(cfg, _):
    cfg.model.distill.logit_weight = -1.0


def _stage_out_of_range(cfg, _):
    cfg.model.distill.feature_stages = (0, 4)


def _missing_checkpoint(cfg, tmp_path):
    cfg.model.teacher.checkpoint = str(tmp_path / 'absent.pth')


def _other_allocation(cfg, _):
    cfg.model.teacher.model.backbone.stage_blocks = (1, 3, 1, 1)  # the file holds 1-2-1-1


def _other_stem(cfg, tmp_path):
    # the demo widths with ImageNet's strided stem: every stage 4x smaller than the student's
    cfg.model.teacher.model.backbone.space = get_space('resnet_bottleneck').scaled(0.125)
    cfg.model.teacher.checkpoint = str(write_teacher(cfg.model.teacher.model,
                                                     tmp_path / 'strided.pth'))


@pytest.mark.parametrize('change, error, message', [
    (_unknown_key, ValueError, r"distill: unknown keys \['temprature'\]; allowed: temperature"),
    (_zero_temperature, ValueError, r'distill\.temperature=0: allowed a finite number > 0'),
    (_negative_weight, ValueError, r'distill\.logit_weight=-1\.0: allowed a finite number >= 0'),
    (_stage_out_of_range, ValueError, r'stage 4 out of range; allowed 0\.\.3'),
    (_missing_checkpoint, FileNotFoundError, r"teacher\.checkpoint='.*absent\.pth': no such"),
    (_other_allocation, ValueError,
     (r'does not match teacher\.model: \d+ missing keys \(backbone\.layer2\.2\.'
      r'.*0 unexpected \(\), 0 of another shape')),
    (_other_stem, ValueError, (r'stage 0 is \(32, 64, 64\) \(C, H, W\) in the student '
                               r'but \(32, 16, 16\) in the teacher')),
])
def test_bad_settings_are_refused_in_one_line(teacher_file, tmp_path, change, error, message):
    cfg = demo_cfg(teacher_file)
    change(cfg, tmp_path)
    with pytest.raises(error, match=message) as err:
        MODELS.build(cfg.model)
    assert '\n' not in str(err.value)


def test_source_step_trains_and_its_checkpoint_loads_into_the_plain_classifier(
        teacher_file, tmp_path):
    source = prepare_split_source(tmp_path / 'source', 4, 1)
    cfg = demo_cfg(teacher_file)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].update(batch_size=8, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = str(source)
    # the inherited subnet: a plain classifier checkpoint of the student's allocation
    torch.manual_seed(0)
    inherited = randomize_batchnorm(MODELS.build(plain_model_cfg())).state_dict()
    atomic_save({'state_dict': inherited, 'meta': {'allocation': STUDENT_BLOCKS,
                                                   'space': 'resnet_bottleneck_demo'}},
                tmp_path / 'subnet.pth')

    result = train_subnet(cfg, STUDENT_BLOCKS, str(tmp_path / 'work'),
                          load_from=str(tmp_path / 'subnet.pth'), iterations=2)
    assert result['checkpoint'].endswith('iter_2.pth') and 0 <= result['top1'] <= 100
    state = load_checkpoint_safely(result['checkpoint'])['state_dict']
    own = {k for k in state if k.startswith('distill_connectors.')}
    assert own and not any(k.startswith('teacher') for k in state)
    assert not all(torch.equal(state[k], v) for k, v in inherited.items())  # it trained

    plain = MODELS.build(plain_model_cfg())
    plain.load_state_dict({k: v for k, v in state.items() if k not in own}, strict=True)
    # how a target fine-tune starts: the backbone's keys only, the connectors ignored
    target = MODELS.build(plain_model_cfg(init_cfg=dict(
        type='Pretrained', checkpoint=result['checkpoint'], prefix='backbone.')))
    target.init_weights()
    backbone = target.backbone.state_dict()
    assert backbone and all(torch.equal(v, state[f'backbone.{k}']) for k, v in backbone.items())


def test_configs_build_with_their_documented_teachers(tmp_path):
    demo = Config.fromfile(CONFIG)
    assert demo.model.teacher.model.backbone.stage_blocks == (3, 4, 6, 3)
    demo.model.teacher.checkpoint = str(write_teacher(demo.model.teacher.model,
                                                      tmp_path / 'default.pth'))
    model = MODELS.build(demo.model)
    assert model.backbone.stage_blocks == (1, 4, 5, 2)  # finetune_subnet_fashion.py's subnet
    assert sorted(model.distill_connectors) == ['0', '1', '2', '3']

    # the ImageNet teacher: torchvision's ResNet-50 as the config's header converts it
    torchvision = pytest.importorskip('torchvision')
    imagenet = Config.fromfile(ROOT / 'configs/classification/imagenet_distill_subnet_r50.py')
    torch.manual_seed(0)
    resnet50 = torchvision.models.resnet50(weights=None).eval()
    atomic_save({'state_dict': {('head.' if k.startswith('fc.') else 'backbone.') + k: v
                                for k, v in resnet50.state_dict().items()}},
                tmp_path / 'resnet50.pth')
    imagenet.model.teacher.checkpoint = str(tmp_path / 'resnet50.pth')
    model = MODELS.build(imagenet.model)
    assert model.backbone.stage_blocks == (1, 6, 6, 3)
    assert not any(k.startswith('teacher') for k in model.state_dict())
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.teacher(image, mode='tensor'), resnet50(image),
                                   rtol=1e-4, atol=1e-4)
