"""Effective receptive fields (Luo et al. 2016; paper 004, Sec. 4.1 "Visualization").

The ERF of a stage is how much each input pixel moves the stage's centre output: the absolute
gradient of the centre position's output (summed over channels) with respect to the input,
summed over the input's channels and averaged over images, normalised to sum 1. Paper 004
drops the ReLUs (``linear=True``) and feeds ones; with BatchNorm in eval mode the network is
then affine and the ERF does not depend on the input at all. With ReLUs it does, hence the
average over images.

Two numbers summarise a map, both measured around its centroid with the Chebyshev (square)
distance: ``radius90``, the half-width of the smallest centred square holding 90% of the ERF,
and ``outer_percent``, the share (%) outside the central square of half-width ``center_radius``
(the paper's "outer response" in its green box).

    >>> backbones = dict(allocation_backbones('resnet_basic', [(1, 1, 1, 1), (3, 4, 6, 3)]))
    >>> x = erf_inputs('noise', 2, 48)
    >>> small, deep = (effective_receptive_field(backbones[a], x, stage=4)
    ...                for a in [(1, 1, 1, 1), (3, 4, 6, 3)])
    >>> erf_stats(small)['radius90'] < erf_stats(deep)['radius90']
    True
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from supernet import build_backbone, get_space
from supernet.extract import load_supernet_checkpoint, subnet_backbone

INPUTS = ('noise', 'digits', 'tops', 'ones')
DIGITS_MEAN, DIGITS_STD = 72.9, 90.0  # the demo configs' data_preprocessor (tops' too)


def without_relu(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ReLU / ReLU6 module replaced by the identity."""
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for name, submodule in list(module.named_children()):
            if isinstance(submodule, (nn.ReLU, nn.ReLU6)):
                setattr(module, name, nn.Identity())
    return model


def stage_output(backbone: nn.Module, x: torch.Tensor, stage: int) -> torch.Tensor:
    """The output of searched stage ``stage`` (1-based) of a :mod:`supernet` backbone."""
    searched = backbone.space.searched
    if not 1 <= stage <= len(searched):
        raise ValueError(f'stage={stage}: space {backbone.space.name!r} has searched stages '
                         f'1..{len(searched)} ({", ".join(s.name for s in searched)})')
    stop = backbone.layer_names.index(searched[stage - 1].name) + 1
    out, _ = backbone.forward_layers(backbone.forward_stem(x), 0, stop)
    return out  # (B, C, h, w)


def effective_receptive_field(backbone: nn.Module, inputs: torch.Tensor, stage: int,
                              linear: bool = False) -> np.ndarray:
    """The ERF of ``stage``'s centre output on ``inputs`` (B, 3, H, W): an (H, W) map summing to 1.

    The backbone runs in eval mode (BatchNorm with its running statistics); ``linear`` drops the
    ReLUs as paper 004 does. ``backbone`` itself is not modified.
    """
    model = without_relu(backbone) if linear else backbone
    was_training = model.training
    model.eval()
    try:
        x = inputs.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            out = stage_output(model, x, stage)                 # (B, C, h, w)
            h, w = out.shape[-2:]
            out[:, :, h // 2, w // 2].sum().backward()
    finally:
        model.train(was_training)
    grad = x.grad.abs().sum(1).mean(0)                         # (H, W)
    total = grad.sum()
    if not total > 0:
        raise ValueError('the centre output does not depend on the input (all gradients are '
                         'zero): dead ReLUs or zero weights? Try linear=True')
    return (grad / total).numpy()


def erf_stats(erf: np.ndarray, center_radius: float | None = None) -> dict:
    """``radius90`` and ``outer_percent`` (see the module doc) and the centroid ``centre``.

    ``center_radius`` defaults to 1/8 of the map's side.
    """
    height, width = erf.shape
    center_radius = max(height, width) / 8 if center_radius is None else center_radius
    ys, xs = np.mgrid[:height, :width]
    cy, cx = float((erf * ys).sum()), float((erf * xs).sum())
    distance = np.maximum(np.abs(ys - cy), np.abs(xs - cx)).ravel()
    order = np.argsort(distance, kind='stable')
    mass = np.cumsum(erf.ravel()[order])
    radius90 = float(distance[order][min(np.searchsorted(mass, 0.9), len(mass) - 1)])
    outer = float(erf.ravel()[distance > center_radius].sum())
    return dict(radius90=round(radius90, 2), outer_percent=round(100 * outer, 2),
                center_radius=round(float(center_radius), 2),
                centre=[round(cy, 2), round(cx, 2)])


def erf_inputs(kind: str, count: int, size: int, seed: int = 0) -> torch.Tensor:
    """``count`` inputs (count, 3, size, size): standard normal ``'noise'``, ``'ones'`` (the
    paper's), scikit-learn ``'digits'`` (the digits demo's target) or Fashion-MNIST ``'tops'``
    (the report's target, from its test split), resized to ``size`` and normalised as the demo
    configs do."""
    if kind not in INPUTS:
        raise ValueError(f'input={kind!r}: allowed {INPUTS}')
    if count < 1 or size < 8:
        raise ValueError(f'images={count} and size={size} must be >= 1 and >= 8')
    generator = torch.Generator().manual_seed(seed)
    if kind == 'noise':
        return torch.randn(count, 3, size, size, generator=generator)
    if kind == 'ones':
        return torch.ones(count, 3, size, size)
    from archdata import TOPS_CLASSES, load_digits, load_fashion_mnist
    if kind == 'digits':
        images, _ = load_digits()
    else:  # the tops target's images: Fashion-MNIST's test split (never used for training)
        images, labels = load_fashion_mnist('test')
        images = images[np.isin(labels, TOPS_CLASSES)]
    pick = torch.randperm(len(images), generator=generator)[:count]
    x = torch.from_numpy(images[pick.numpy()]).float().unsqueeze(1)       # (B, 1, h, w)
    x = nn.functional.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
    return ((x - DIGITS_MEAN) / DIGITS_STD).expand(-1, 3, -1, -1).contiguous()


def allocation_backbones(space, allocations, checkpoint: str | Path | None = None,
                         seed: int = 0):
    """Yield ``(allocation, backbone)``: the subnet of every allocation, with weights cut
    from one super-network, so that the subnets differ only in depth.

    Args:
        space: the super-network's space; ``None`` takes the checkpoint's ``meta['space']``.
        checkpoint: a super-network (or subnet) checkpoint, of a classifier or a bare backbone.
            ``None``: an untrained super-network with PyTorch's default initialisation after
            ``torch.manual_seed(seed)`` (mmdet's ``init_weights`` is not called: it zeroes the
            last BatchNorm of every residual block, which would hide every block).
    """
    if checkpoint is None:
        space = get_space(space)
        torch.manual_seed(seed)
        state, prefix = build_backbone(space).state_dict(), ''
    else:
        state, space, prefix = load_supernet_checkpoint(checkpoint, space)
    for allocation in allocations:
        allocation = space.validate(allocation)
        yield allocation, subnet_backbone(state, space, allocation, prefix).eval()

def plot_erfs(rows: list, path, footer: str = '', suptitle: str = '') -> Path:
    """Heatmaps side by side, one colour scale per row.

    Args:
        rows: ``[(row_label, [(title, erf, stats), ...]), ...]``; ``stats`` from
            :func:`erf_stats` (its central square is drawn).
        footer: text along the bottom (the command and seed).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.colors import PowerNorm
    from matplotlib.patches import Rectangle

    cols = max(len(panels) for _, panels in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.7 * cols + 0.9, 2.9 * len(rows) + 0.4),
                             squeeze=False, layout='constrained')
    fig.get_layout_engine().set(rect=(0, 0.03, 1, 0.97))  # room for the footer
    for r, (label, panels) in enumerate(rows):
        vmax = max(float(np.max(erf)) for _, erf, _ in panels)
        norm = PowerNorm(gamma=0.5, vmin=0, vmax=vmax)
        for c, (title, erf, stats) in enumerate(panels):
            ax = axes[r][c]
            image = ax.imshow(np.asarray(erf), cmap='inferno', norm=norm)
            cy, cx = stats['centre']
            radius = stats['center_radius']
            ax.add_patch(Rectangle((cx - radius, cy - radius), 2 * radius, 2 * radius,
                                   fill=False, edgecolor='lime', lw=0.8))
            ax.set_title(f'{title}\nr90 {stats["radius90"]:.1f} px, outer '
                         f'{stats["outer_percent"]:.1f}%', fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        for c in range(len(panels), cols):
            axes[r][c].axis('off')
        axes[r][0].set_ylabel(label, fontsize=8)
        fig.colorbar(image, ax=list(axes[r]), fraction=0.02, pad=0.01,
                     label='share of the ERF (sqrt scale)')
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    if footer:
        fig.text(0.005, 0.005, footer, fontsize=6.5, color='0.35', family='monospace')
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
