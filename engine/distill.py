"""Knowledge distillation in the weight-transfer step (Sun et al., Sec. 3.4): the subnet cut from
the super-network is fine-tuned on the source while mimicking a teacher, the network a user has
for free (the default architecture trained alone, e.g. a published ResNet-50, or the
super-network's largest subnet), on its logits and its stage features.

Configs: ``model = dict(type='DistilledClassifier', teacher=dict(model=..., checkpoint=...),
distill=dict(...))`` beside the plain classifier's ``backbone`` / ``neck`` / ``head``; see
:class:`DistilledClassifier` and docs/transfer.md.
"""
from __future__ import annotations

import copy
import math
import os.path as osp
from numbers import Real

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule, ModuleDict
from mmengine.registry import MODELS as ROOT_MODELS
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS
from torch import nn

from common.checkpoint import read_state_dict

from .sandwich import soft_label_loss

DISTILL_DEFAULTS = dict(temperature=4.0, label_weight=1.0, logit_weight=1.0, feature_weight=1.0,
                        feature_stages=(0, 1, 2, 3))
_WEIGHTS = ('label_weight', 'logit_weight', 'feature_weight')
CONNECTOR_PREFIX = 'distill_connectors.'  # the only keys a checkpoint holds beyond the student's
_PROBE_SIZE = 64  # px: every stage of an ImageNet-stem ResNet / MobileNet keeps >= 2x2 at /32


def distill_settings(distill: dict | None) -> dict:
    """``distill`` completed with :data:`DISTILL_DEFAULTS`; a one-line ``ValueError`` naming the
    field, its value and what is allowed for anything else."""
    distill = dict(distill or {})
    unknown = sorted(set(distill) - set(DISTILL_DEFAULTS))
    if unknown:
        raise ValueError(f'distill: unknown keys {unknown}; allowed: '
                         f'{", ".join(DISTILL_DEFAULTS)}')
    settings = {**DISTILL_DEFAULTS, **distill}
    temperature = settings['temperature']
    if not _is_number(temperature) or not 0 < temperature < math.inf:
        raise ValueError(f'distill.temperature={temperature!r}: allowed a finite number > 0')
    for key in _WEIGHTS:
        value = settings[key]
        if not _is_number(value) or not 0 <= value < math.inf:
            raise ValueError(f'distill.{key}={value!r}: allowed a finite number >= 0 '
                             '(0 drops the term)')
    if not any(settings[key] for key in _WEIGHTS):
        raise ValueError(f'distill: {", ".join(_WEIGHTS)} are all 0, so nothing is trained; '
                         'allowed: at least one > 0')
    stages = settings['feature_stages']
    if not isinstance(stages, (list, tuple)) or \
            not all(isinstance(i, int) and not isinstance(i, bool) for i in stages) or \
            len(set(stages)) != len(stages):
        raise ValueError(f'distill.feature_stages={stages!r}: allowed a tuple of distinct stage '
                         'indices, e.g. (0, 1, 2, 3)')
    if settings['feature_weight'] and not stages:
        raise ValueError('distill.feature_stages=(): allowed at least one stage while '
                         'feature_weight > 0 (or set feature_weight=0)')
    settings['feature_stages'] = tuple(stages) if settings['feature_weight'] else ()
    return settings


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def stage_outputs(backbone, x: torch.Tensor) -> list:
    """The output of every module in ``backbone.layer_names`` (all stages, whatever
    ``out_indices`` says), in order."""
    x = backbone.forward_stem(x)
    outs = []
    for name in backbone.layer_names:
        x = backbone._run_layer(name, x)
        outs.append(x)
    return outs


def _neck_inputs(backbone, stages: list) -> tuple:
    # what the backbone's own forward returns: its out_indices, in order
    return tuple(stages[i] for i in sorted(backbone.out_indices))


class Connector(BaseModule):
    """A 1x1 convolution and BatchNorm from a student stage's channels to the teacher's, as
    FitNets' regressors and mmrazor's ``ConvModuleConnector`` with a norm."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.init_weights()

    def init_weights(self):
        # An mmengine init_weights override: the Runner calls it after any init_cfg of the
        # classifier has run over every Conv2d, so the identity below survives it.
        if self.conv.in_channels == self.conv.out_channels:
            # Equal widths mean the student and the teacher come from one lineage (subnets of
            # one super-network, or a super-network warm-started from the teacher), so channel
            # c of one corresponds to channel c of the other: the identity keeps that, and the
            # feature loss pulls the student's own channels towards the teacher's from the first
            # step; a random projection would first have to learn the correspondence back.
            nn.init.dirac_(self.conv.weight)
        else:
            self.conv.reset_parameters()
        self.bn.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


@ROOT_MODELS.register_module()
class DistilledClassifier(ImageClassifier):
    """An ``ImageClassifier`` (the student) trained on its labels and on a frozen teacher.

    Args:
        backbone, neck, head, pretrained, train_cfg, data_preprocessor, init_cfg: the student,
            exactly as ``ImageClassifier``'s, so its state-dict keys are the plain classifier's
            (``backbone.*``, ``head.*``) and ``model.backbone.stage_blocks`` overrides work
            unchanged. The backbone must be one of the project's staged backbones
            (``forward_stem``, ``layer_names``: ``AllocatedResNet``, a super-network, ...).
        teacher (dict): ``dict(model=<ImageClassifier config>, checkpoint=<path>)``. Built and
            loaded here (every key of the model exactly, ``distill_connectors.*`` ignored), frozen
            and always in eval mode. It sees the student's preprocessed inputs, so it must expect
            the same normalisation; its own ``data_preprocessor`` is not used. It needs as many
            stages as the student, of the same spatial sizes.
        distill (dict): ``temperature`` (4.0), ``label_weight`` (1.0), ``logit_weight`` (1.0),
            ``feature_weight`` (1.0), ``feature_stages`` ((0, 1, 2, 3)). In ``mode='loss'``:
            ``loss_label`` = label_weight x the head's loss; ``loss_kd`` = logit_weight x T² x
            KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch;
            ``loss_feature`` = feature_weight x the mean over ``feature_stages`` of
            MSE(connector_i(student stage i), teacher stage i). A term of weight 0 is neither
            computed nor returned; with ``feature_weight=0`` no connectors are built.

    The teacher is an attribute but not a registered submodule, so

    * ``state_dict()`` and every checkpoint hold only the student's keys and the connectors'
      (``distill_connectors.<stage>.*``): a target fine-tune starts from ``backbone.*`` with
      ``init_cfg=dict(type='Pretrained', prefix='backbone.')``, and the plain classifier loads the
      file with ``strict=True`` once the connectors' keys are dropped;
    * its parameters are not in ``parameters()``, hence in no optimizer (mmengine's default
      constructor would add frozen parameters too) and not synchronised by DDP (every rank loads
      the same file);
    * ``init_weights()`` (called by the Runner after building) and ``train()`` never reach it; it
      is loaded in ``__init__`` and ``train()`` puts it back in eval mode all the same.

    ``.to()`` / ``.cuda()`` / ``.half()`` move it with the student (:meth:`_apply`).
    """

    def __init__(self, backbone: dict, neck: dict | None = None, head: dict | None = None,
                 pretrained: str | None = None, train_cfg: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None,
                 teacher: dict | None = None, distill: dict | None = None):
        settings = distill_settings(distill)
        teacher_cfg, checkpoint = _teacher_spec(teacher)
        super().__init__(backbone, neck=neck, head=head, pretrained=pretrained,
                         train_cfg=train_cfg, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.temperature = float(settings['temperature'])
        self.label_weight, self.logit_weight, self.feature_weight = (
            float(settings[key]) for key in _WEIGHTS)
        self.feature_stages = settings['feature_stages']

        model = MODELS.build(teacher_cfg) if isinstance(teacher_cfg, dict) else teacher_cfg
        _load_teacher(model, checkpoint)
        model.requires_grad_(False)
        self.__dict__['_teacher'] = model.eval()  # not a submodule: see the class docstring

        for name, net in (('model.backbone', self.backbone), ('teacher.model.backbone',
                                                              model.backbone)):
            if not all(hasattr(net, a) for a in ('forward_stem', 'layer_names', '_run_layer')):
                raise ValueError(f'{name}: {type(net).__name__} has no forward_stem / '
                                 'layer_names; allowed: the staged backbones of supernet/ '
                                 '(AllocatedResNet, ResNetSuperNet, AllocatedMobileNetV2, ...)')
        if not self.with_head or (self.logit_weight and not model.with_head):
            missing = 'model.head' if not self.with_head else 'teacher.model.head'
            raise ValueError(f'{missing}=None: allowed a classification head (the logits are '
                             'distilled and the student classifies)')
        student, taught = _probe(self.backbone), _probe(model.backbone)
        if len(student) != len(taught):
            raise ValueError(f'teacher.model.backbone has {len(taught)} stages, the student '
                             f'{len(student)}: allowed the same number')
        out_of_range = [i for i in self.feature_stages if not 0 <= i < len(student)]
        if out_of_range:
            raise ValueError(f'distill.feature_stages={self.feature_stages}: stage '
                             f'{out_of_range[0]} out of range; allowed 0..{len(student) - 1} '
                             f'({len(student)} stages)')
        for i in self.feature_stages:
            _check_sizes(i, student[i], taught[i], f'a {_PROBE_SIZE} px probe')
        # by stage index, so a checkpoint says which stage each connector belongs to
        self.distill_connectors = ModuleDict({
            str(i): Connector(student[i][0], taught[i][0]) for i in self.feature_stages}) \
            if self.feature_stages else None

    @property
    def teacher(self) -> ImageClassifier:
        return self._teacher

    def train(self, mode: bool = True):
        super().train(mode)
        self._teacher.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        teacher = self.__dict__.get('_teacher')
        if teacher is not None:
            teacher._apply(fn, *args, **kwargs)
        return self

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        stages = stage_outputs(self.backbone, inputs)
        feats = _neck_inputs(self.backbone, stages)
        if self.with_neck:
            feats = self.neck(feats)
        logits = self.head(feats)
        with torch.no_grad():
            self._teacher.eval()
            taught = stage_outputs(self._teacher.backbone, inputs)

        losses = {}
        if self.label_weight:
            for key, value in self._label_losses(feats, logits, data_samples).items():
                if 'loss' in key:
                    key, value = 'loss_label' if key == 'loss' else key, self.label_weight * value
                losses[key] = value
        if self.logit_weight:
            with torch.no_grad():
                target = self._teacher_logits(taught)
            losses['loss_kd'] = self.logit_weight * soft_label_loss(
                logits.float(), target.float(), self.temperature)
        if self.feature_weight:
            mimic = []
            for i in self.feature_stages:
                _check_sizes(i, stages[i].shape[1:], taught[i].shape[1:], 'this batch')
                mimic.append(F.mse_loss(self.distill_connectors[str(i)](stages[i]).float(),
                                        taught[i].float()))
            losses['loss_feature'] = self.feature_weight * torch.stack(mimic).mean()
        return losses

    def _label_losses(self, feats, logits, data_samples) -> dict:
        # mmpretrain's ClsHead.loss is head(feats) then _get_loss: reuse the logits computed
        if hasattr(self.head, '_get_loss'):
            return self.head._get_loss(logits, data_samples)
        return self.head.loss(feats, data_samples)

    def _teacher_logits(self, taught: list) -> torch.Tensor:
        teacher = self._teacher
        feats = _neck_inputs(teacher.backbone, taught)
        return teacher.head(teacher.neck(feats) if teacher.with_neck else feats)


def _teacher_spec(teacher) -> tuple:
    if not isinstance(teacher, dict) or set(teacher) != {'model', 'checkpoint'}:
        given = sorted(teacher) if isinstance(teacher, dict) else repr(teacher)
        raise ValueError(f'teacher: got {given}; allowed dict(model=<ImageClassifier config>, '
                         'checkpoint=<path>), both keys')
    model, checkpoint = teacher['model'], teacher['checkpoint']
    if not isinstance(model, (dict, nn.Module)):
        raise TypeError(f'teacher.model={model!r}: allowed a classifier config dict')
    path = osp.expanduser(str(checkpoint))
    if not osp.isfile(path):
        raise FileNotFoundError(f'teacher.checkpoint={str(checkpoint)!r}: no such file; allowed a '
                                'checkpoint of teacher.model (docs/transfer.md says how to make '
                                'one)')
    return (copy.deepcopy(model) if isinstance(model, dict) else model), path


def _load_teacher(model: nn.Module, path: str):
    """Load every key of ``model`` from ``path``, refusing (one line) any mismatch: a teacher
    that is partly random would teach noise without a word."""
    state = {k: v for k, v in read_state_dict(path).items()
             if not k.startswith(CONNECTOR_PREFIX)}  # a distilled student used as teacher
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or reshaped:
        def few(keys):
            return ', '.join(keys[:3]) + (', ...' if len(keys) > 3 else '')
        raise ValueError(
            f'teacher.checkpoint={path!r} does not match teacher.model: {len(missing)} missing '
            f'keys ({few(missing)}), {len(unexpected)} unexpected ({few(unexpected)}), '
            f'{len(reshaped)} of another shape ({few(reshaped)}); allowed: exactly the keys '
            'of teacher.model (backbone.*, head.*; check its stage_blocks, space and num_classes)')
    model.load_state_dict(state, strict=True)


@torch.no_grad()
def _probe(backbone) -> list:
    """``(channels, height, width)`` of every stage of ``backbone`` on a zero image, run in eval
    mode so no BatchNorm statistic moves."""
    conv = next(m for m in backbone.modules() if isinstance(m, nn.Conv2d))
    param = next(backbone.parameters())
    was_training = backbone.training
    backbone.eval()
    try:
        image = torch.zeros(1, conv.in_channels, _PROBE_SIZE, _PROBE_SIZE, device=param.device,
                            dtype=param.dtype)
        return [tuple(out.shape[1:]) for out in stage_outputs(backbone, image)]
    finally:
        backbone.train(was_training)


def _check_sizes(stage: int, student, teacher, where: str):
    if tuple(student[1:]) != tuple(teacher[1:]):
        raise ValueError(f'distill.feature_stages: stage {stage} is {tuple(student)} (C, H, W) in '
                         f'the student but {tuple(teacher)} in the teacher on {where}; allowed: '
                         'the same height and width (same stem and strides)')
