"""Tensor adaptation: make a source tensor fit a target tensor's shape.

Every function returns a new tensor and leaves its inputs alone. Shapes in comments use
(O, I, kh, kw) for a convolution weight; 1-D tensors (bias, BN statistics) go through the same
code with one dimension.

    >>> import torch
    >>> src = torch.arange(5.)
    >>> center_crop(src, torch.zeros(3))[0]          # DPIAT: the source's centre
    tensor([1., 2., 3.])
    >>> center_crop(src, torch.full((7,), -1.))[0]   # target's own values around the copy
    tensor([-1.,  0.,  1.,  2.,  3.,  4., -1.])
    >>> cyclic_stack(torch.arange(3.), (5,))         # HMT: repeat channels in order
    tensor([0., 1., 2., 0., 1.])
    >>> resize(torch.tensor([0., 2.]), (3,))        # TLI: linear resampling
    tensor([0., 1., 2.])
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check_rank(src: torch.Tensor, shape) -> None:
    if src.dim() != len(shape):
        raise ValueError(f'cannot fit a {src.dim()}-D tensor {tuple(src.shape)} into a '
                         f'{len(shape)}-D one {tuple(shape)}')


def center_crop(src: torch.Tensor, dst: torch.Tensor) -> tuple:
    """DPIAT's transfer (paper 002, App. A.2): copy the centred overlap of ``src`` into ``dst``.

    Along each dimension the overlap has ``m = min(s, t)`` entries, starting at ``(s - m) // 2``
    in the source and ``(t - m) // 2`` in the target: a larger source is cropped to its centre, a
    smaller one lands in the target's centre and the target keeps its own values around it.

    Returns:
        (a copy of ``dst`` with the overlap replaced, fraction of ``dst``'s entries written)
    """
    _check_rank(src, dst.shape)
    src_index, dst_index, written = [], [], 1.0
    for s, t in zip(src.shape, dst.shape):
        m = min(s, t)
        src_index.append(slice((s - m) // 2, (s - m) // 2 + m))
        dst_index.append(slice((t - m) // 2, (t - m) // 2 + m))
        written *= m / t if t else 0.0
    out = dst.clone()
    out[tuple(dst_index)] = src[tuple(src_index)].to(out.dtype)
    return out, written


def resize(src: torch.Tensor, shape) -> torch.Tensor:
    """Linear resampling of every dimension whose size differs (TLI's "resize").

    ``F.interpolate`` resizes at most three trailing dimensions and a weight can differ in four
    (O, I, kh, kw), so this resizes one dimension at a time; linear interpolation is separable,
    so the result is the N-linear interpolation. ``align_corners=False`` samples at cell centres:
    shrinking a 3-long axis to 1 gives its middle entry, not its first.
    """
    _check_rank(src, shape)
    out = src.float() if not src.is_floating_point() else src
    for dim, (s, t) in enumerate(zip(src.shape, shape)):
        if s == t:
            continue
        moved = out.movedim(dim, -1)                         # (..., s)
        lead = moved.shape[:-1]
        flat = moved.reshape(-1, 1, s)                       # (N, 1, s)
        flat = F.interpolate(flat, size=t, mode='linear', align_corners=False)  # (N, 1, t)
        out = flat.reshape(*lead, t).movedim(-1, dim)
    return out if out is not src else src.clone()


def interpolate_kernel(weight: torch.Tensor, kernel_size) -> torch.Tensor:
    """HMT's filter interpolation (paper 000, Sec. 2.3.2): resample each filter spatially.

    (O, I, kh, kw) → (O, I, kh', kw') by bilinear interpolation (linear for 1-D, trilinear for
    3-D convolutions). The paper is silent on scale; we divide by the ratio of tap counts, which
    is its own argument (Eq. 2) made discrete: the convolution is an integral, and sampling it
    with ``r``× finer steps shrinks each step, so the response to a flat input (and thus the
    next BatchNorm's statistics) stays about the same.
    """
    kernel_size = tuple(kernel_size)
    spatial = weight.dim() - 2
    if len(kernel_size) != spatial or spatial not in (1, 2, 3):
        raise ValueError(f'kernel_size {kernel_size} does not fit a weight of shape '
                         f'{tuple(weight.shape)}')
    if tuple(weight.shape[2:]) == kernel_size:
        return weight.clone()
    mode = ('linear', 'bilinear', 'trilinear')[spatial - 1]
    # A weight is already laid out as a batch of images: (O, I, kh, kw) = (N, C, H, W).
    out = F.interpolate(weight.float(), size=kernel_size, mode=mode, align_corners=False)
    out = out * (math.prod(weight.shape[2:]) / math.prod(kernel_size))  # (O, I, kh', kw')
    return out.to(weight.dtype)


def cyclic_stack(src: torch.Tensor, shape) -> torch.Tensor:
    """HMT's cyclic stack (paper 000, Fig. 4b): target index ``j`` takes source index ``j mod s``.

    A 3-channel source stacked into 5 channels gives channels 0, 1, 2, 0, 1; a larger source
    keeps its first channels. Applied to every dimension whose size differs (out and in channels
    of a weight; the only one of a bias or BN statistic).
    """
    _check_rank(src, shape)
    out = src
    for dim, (s, t) in enumerate(zip(src.shape, shape)):
        if s != t:
            index = torch.arange(t, device=src.device) % s
            out = out.index_select(dim, index)               # (..., t, ...)
    return out if out is not src else src.clone()


def combo(src: torch.Tensor, dst: torch.Tensor, lam: float = 0.75) -> torch.Tensor:
    """TLI's ComboInjection (paper 003, Sec. 3.2): ``lam · center_crop + (1 − lam) · resize``.

    The crop keeps ``dst``'s own values where the source does not reach (as TLI's
    ``fn_inject``). Equal shapes give an exact copy of ``src``: λ·x + (1−λ)·x is not bit-exact
    in floating point, so that case is a plain copy.
    """
    if tuple(src.shape) == tuple(dst.shape):
        return src.to(dst.dtype).clone()
    cropped, _ = center_crop(src, dst)
    return (lam * cropped.float() + (1 - lam) * resize(src, dst.shape)).to(dst.dtype)
