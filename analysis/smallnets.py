"""Small classifiers on in-memory images: build one from a super-network space, train it, test
it, initialise it from another by heterogeneous transfer. Shared by the report's transfer
section and ``benchmarks/transfer_effectiveness.py``.

Images are resized to ``size`` px (Fashion 28 → size, digits 8 → size), standardised with the
training split's statistics and repeated to 3 channels. Training is a plain loop (Adam,
cross-entropy): the data are small tensors in memory.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common.batchnorm import recalibrate_bn
from supernet import build_backbone, get_space
from supernet.datasets import load_digits, load_fashion_mnist
from transfer import transfer_weights

# name -> (space, width multiplier, allocation or None for the space's default). Sources are
# trained on Fashion-MNIST; targets are initialised from them and fine-tuned on the digits.
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
    """A super-network child backbone, global average pooling and a linear head.

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


@dataclass
class TransferData:
    """Source (Fashion-MNIST) and target (digits) tensors: ``*_x`` (N, 3, S, S), ``*_y`` (N,)."""
    source_x: torch.Tensor
    source_y: torch.Tensor
    source_test_x: torch.Tensor
    source_test_y: torch.Tensor
    target_x: torch.Tensor
    target_y: torch.Tensor
    target_test_x: torch.Tensor
    target_test_y: torch.Tensor


def load_transfer_data(source_train: int, target_train: int, target_test: int, size: int,
                       source_test: int = 2000, seed: int = 0) -> TransferData:
    """``source_train`` random Fashion-MNIST training images (the first ``source_test`` of its
    test split to test), and a random split of the digits into ``target_train`` and
    ``target_test`` images, all at ``size`` px."""
    rng = np.random.default_rng(seed)
    f_images, f_labels = load_fashion_mnist('train')
    pick = rng.permutation(len(f_images))[:source_train]
    fx, f_mean, f_std = prepare_images(f_images[pick], size)
    f_test_images, f_test_labels = load_fashion_mnist('test')
    fx_test, _, _ = prepare_images(f_test_images[:source_test], size, f_mean, f_std)
    d_images, d_labels = load_digits()
    perm = rng.permutation(len(d_images))
    train_idx, test_idx = perm[:target_train], perm[target_train:][:target_test]
    dx, d_mean, d_std = prepare_images(d_images[train_idx], size)
    dx_test, _, _ = prepare_images(d_images[test_idx], size, d_mean, d_std)
    return TransferData(fx, torch.from_numpy(f_labels[pick]), fx_test,
                        torch.from_numpy(f_test_labels[:source_test]), dx,
                        torch.from_numpy(d_labels[train_idx]), dx_test,
                        torch.from_numpy(d_labels[test_idx]))


def train_classifier(model, x, y, epochs, seed, lr, batch, evaluate=None) -> list:
    """Adam, cross-entropy, shuffled with ``seed``. Returns ``evaluate(model)`` after each
    epoch (empty without ``evaluate``)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(epochs):
        model.train()
        for index in torch.randperm(len(x), generator=order).split(batch):
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if evaluate:
            curve.append(evaluate(model))
    return curve


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
