"""Small classifiers on in-memory images: build one from a super-network space, train it, test
it, initialise it from another by heterogeneous transfer, or from the same architecture trained
on the source (the pretrained reference). The transfer study (:mod:`reproduce.hetero`, run by the
report and by ``benchmarks/transfer_effectiveness.py``) is made of these.

Two target regimes (:data:`TARGETS`): 'digits' (all ten Fashion-MNIST classes as source,
scikit-learn's digits as target; random init alone nearly saturates it, so no init can show
much) and 'tops', the class split the search uses (source: Fashion-MNIST without the five
tops; target: the tops with few labels each, tested on Fashion-MNIST's test split), where
pretraining on the source is worth several points. Images are resized to ``size`` px (Fashion
28 → size, digits 8 → size), standardised with the training split's statistics and repeated to
3 channels. Training is a plain loop (Adam, cross-entropy): the data are small tensors in
memory.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archdata import (
    SPLIT_SOURCE_CLASSES,
    TOPS_CLASSES,
    load_digits,
    load_fashion_mnist,
)
from archdata.embedded import relabelled, tops_selection
from common.batchnorm import recalibrate_bn
from supernet import build_backbone, get_space
from transfer import transfer_weights

# name -> (space, width multiplier, allocation or None for the space's default). Sources are
# trained on Fashion-MNIST; targets are initialised from them and fine-tuned on the target.
SOURCE_NETS = {
    'resnet18/4': ('resnet_basic', 0.25, (2, 2, 2, 2)),
    'mbv2/2': ('mobilenet_v2', 0.5, None),
    'mnasnet/2': ('mnasnet', 0.5, None),
}
TARGET_NETS = {
    'resnet10x3/8': ('resnet_basic', 0.375, (1, 1, 1, 1)),        # shallower and wider
    'resnet(2,2,8,2)/4': ('resnet_basic', 0.25, (2, 2, 8, 2)),    # layer3 deeper than max 6
    'mnasnet(2x5)/2': ('mnasnet', 0.5, (2, 2, 2, 2, 2)),          # another family
}


class Classifier(nn.Module):
    """A super-network subnet backbone, global average pooling and a linear head.

    Args:
        space: the space's name; built at ``width`` × its channels with a small-input stem.
        width: channel multiplier.
        allocation: depths, or ``None`` for the space's default.
    """

    def __init__(self, space, width, allocation, num_classes=10):
        super().__init__()
        space = get_space(space).scaled(width, small_input=True)
        allocation = allocation or space.default_depths  # None would build the super-network
        if space.family == 'resnet':
            self.backbone = build_backbone(space, allocation, out_indices=(3,))
            channels = space.stages[-1].channels
        else:
            self.backbone = build_backbone(space, allocation, out_indices=(7,))  # conv2
            channels = space.head_channels
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x):                                   # (B, 3, H, W)
        return self.head(self.backbone(x)[-1].mean((2, 3)))  # (B, classes)


def prepare_images(images: np.ndarray, size: int, mean=None, std=None):
    """uint8 (N, h, w) -> float (N, 3, size, size), standardized with the given (or its own)
    statistics; returns ``(images, mean, std)``."""
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)
    x = F.interpolate(x, size=(size, size), mode='bilinear', antialias=True, align_corners=False)
    mean = x.mean().item() if mean is None else mean
    std = x.std().item() if std is None else std
    return ((x - mean) / std).expand(-1, 3, -1, -1).contiguous(), mean, std


TARGETS = ('digits', 'tops')
# The transfer goals where pretraining matters: a transfer should recover >= SHARE_GOAL of the
# pretraining gain (mean over pairs, DPIAT and TLI, no pair below 0) on targets where
# pretraining the target itself gains >= GAP_GOAL top-1 points. Reported, never tuned toward.
SHARE_GOAL, GAP_GOAL = 0.8, 10


@dataclass
class TransferData:
    """Source and target tensors: ``*_x`` (N, 3, S, S), ``*_y`` (N,) in
    ``0 .. *_classes - 1``."""
    source_x: torch.Tensor
    source_y: torch.Tensor
    source_test_x: torch.Tensor
    source_test_y: torch.Tensor
    target_x: torch.Tensor
    target_y: torch.Tensor
    target_test_x: torch.Tensor
    target_test_y: torch.Tensor
    source_classes: int
    target_classes: int


def load_transfer_data(source_train: int, target_train: int, target_test: int, size: int,
                       source_test: int = 2000, seed: int = 0,
                       target: str = 'digits') -> TransferData:
    """Source and target images at ``size`` px, drawn with ``numpy.random.default_rng(seed)``.

    * ``target='digits'``: ``source_train`` random Fashion-MNIST training images of all ten
      classes (the first ``source_test`` of its test split to test), and a random split of the
      digits into ``target_train`` and ``target_test`` images.
    * ``target='tops'``: the class split. Source: ``source_train`` random training images of
      :data:`SPLIT_SOURCE_CLASSES` (the first ``source_test`` of them in the test split to
      test), labelled 0..4. Target: the tops (:data:`TOPS_CLASSES`, labelled 0..4),
      ``target_train // 5`` labelled training images and ``target_test // 5`` test-split
      images per class, drawn as the search's tops target draws its 'train' and 'test' parts
      (:func:`~archdata.embedded.tops_selection`); both counts must be multiples of 5.
    """
    if target not in TARGETS:
        raise ValueError(f'target={target!r}: allowed {", ".join(map(repr, TARGETS))}')
    rng = np.random.default_rng(seed)
    f_images, f_labels = load_fashion_mnist('train')
    f_test_images, f_test_labels = load_fashion_mnist('test')
    if target == 'digits':
        pick = rng.permutation(len(f_images))[:source_train]
        test_pick = np.arange(min(source_test, len(f_test_images)))
        source_classes = 10
    else:
        # the source never sees a top, so pretraining on it cannot leak the target's labels
        pick = rng.permutation(np.flatnonzero(np.isin(f_labels, SPLIT_SOURCE_CLASSES)))
        pick = pick[:source_train]
        test_pick = np.flatnonzero(np.isin(f_test_labels, SPLIT_SOURCE_CLASSES))[:source_test]
        f_labels = relabelled(f_labels, SPLIT_SOURCE_CLASSES)
        f_test_labels = relabelled(f_test_labels, SPLIT_SOURCE_CLASSES)
        source_classes = len(SPLIT_SOURCE_CLASSES)
    fx, f_mean, f_std = prepare_images(f_images[pick], size)
    fx_test, _, _ = prepare_images(f_test_images[test_pick], size, f_mean, f_std)

    if target == 'digits':
        t_images, t_labels = load_digits()
        perm = rng.permutation(len(t_images))
        train_images, train_labels = t_images[perm[:target_train]], t_labels[perm[:target_train]]
        test_idx = perm[target_train:][:target_test]
        test_images, test_labels = t_images[test_idx], t_labels[test_idx]
        target_classes = 10
    else:
        target_classes = len(TOPS_CLASSES)
        for name, count in (('target_train', target_train), ('target_test', target_test)):
            if count % target_classes:
                raise ValueError(f'{name}={count}: the tops target takes as many images of '
                                 f'each of its {target_classes} classes, so a multiple of '
                                 f'{target_classes}')
        counts = {'train': target_train // target_classes, 'search': 0, 'rescore': 0,
                  'test': target_test // target_classes}
        parts = {}  # Fashion-MNIST split -> (images, labels) of the target part of that name
        for split, picked in tops_selection(counts, seed).items():
            images, labels = load_fashion_mnist(split)
            indices = np.concatenate([i for part, i in picked if part == split])
            parts[split] = images[indices], relabelled(labels, TOPS_CLASSES)[indices]
        (train_images, train_labels), (test_images, test_labels) = parts['train'], parts['test']
    tx, t_mean, t_std = prepare_images(train_images, size)
    tx_test, _, _ = prepare_images(test_images, size, t_mean, t_std)
    return TransferData(fx, torch.from_numpy(f_labels[pick]), fx_test,
                        torch.from_numpy(f_test_labels[test_pick]), tx,
                        torch.from_numpy(train_labels), tx_test, torch.from_numpy(test_labels),
                        source_classes, target_classes)


def evaluated_epochs(epochs: int, every: int = 1) -> list:
    """The epochs (from 1) after which :func:`train_classifier` evaluates: every ``every``-th
    one and the last."""
    return [e for e in range(1, epochs + 1) if e % every == 0 or e == epochs]


def train_classifier(model, x, y, epochs, seed, lr, batch, evaluate=None,
                     evaluate_every: int = 1) -> list:
    """Adam, cross-entropy, shuffled with ``seed``. Returns ``evaluate(model)`` after the
    epochs :func:`evaluated_epochs` lists (empty without ``evaluate``): testing can cost more
    than an epoch on a few labelled images."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    curve, scored = [], set(evaluated_epochs(epochs, evaluate_every))
    for epoch in range(1, epochs + 1):
        model.train()
        for index in torch.randperm(len(x), generator=order).split(batch):
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if evaluate and epoch in scored:
            curve.append(evaluate(model))
    return curve


def train_source(spec: tuple, data: TransferData, epochs: int, seed: int, lr: float,
                 batch: int) -> Classifier:
    """``Classifier(*spec)`` with a head for the source's labels, initialised after
    ``torch.manual_seed(seed)``, trained ``epochs`` on the source images and returned in eval
    mode. The transfer sources and the pretrained reference are both trained here, so the
    reference has had exactly the sources' training."""
    torch.manual_seed(seed)
    model = Classifier(*spec, num_classes=data.source_classes)
    train_classifier(model, data.source_x, data.source_y, epochs, seed, lr, batch)
    return model.eval()


def with_pretrained_backbone(init: Classifier, pretrained: Classifier) -> Classifier:
    """A copy of ``init`` with ``pretrained``'s backbone (same architecture, trained on the
    source): the pretrained reference. The head stays ``init``'s random one, the head the random
    and transferred models start from too, since the source's head knows other labels."""
    model = copy.deepcopy(init)
    model.backbone.load_state_dict(pretrained.backbone.state_dict())
    return model


def share_of_gain(transferred: float, random: float, pretrained: float) -> float | None:
    """``(transferred - random) / (pretrained - random)``: the share of what pretraining the
    target architecture itself on the source adds over random init that a transfer recovers
    (1: all of it, 0: none, below 0: worse than random init). ``None`` when pretraining adds
    nothing (``pretrained <= random``): then there is no gain to recover, and the quotient would
    be meaningless (or a division by zero)."""
    gap = pretrained - random
    return (transferred - random) / gap if gap > 0 else None


@torch.no_grad()
def accuracy(model, x, y, batch=500, recalibrate_on=None) -> float:
    """Top-1 in [0, 1]. With ``recalibrate_on`` (training inputs), a copy of ``model`` is scored
    after re-estimating its BatchNorm statistics on them: after a few hundred steps a randomly
    initialised MobileNet's running statistics still lag its weights (top-1 at chance in eval
    mode while its training loss has fallen), and an init that starts with sensible statistics
    would win by that alone."""
    if recalibrate_on is not None:
        model = copy.deepcopy(model)
        recalibrate_bn(model, recalibrate_on.split(batch))
    model.eval()
    hits = sum((model(xb).argmax(1) == yb).sum().item()
               for xb, yb in zip(x.split(batch), y.split(batch)))
    return hits / len(x)


def timed_transfer(source: nn.Module, target: nn.Module, method: str, exclude='head.*',
                   **options):
    """``transfer_weights(source, target, method, exclude=exclude)`` and the seconds it took:
    ``(report, seconds)``. The head is excluded by default: a source trained on the other
    domain has other labels."""
    start = time.perf_counter()
    report = transfer_weights(source, target, method, exclude=exclude, **options)
    return report, time.perf_counter() - start
