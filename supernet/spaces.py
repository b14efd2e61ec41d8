"""Search spaces: the stages of a network family and how deep each may grow.

A space is data, not code (timm's ``model_args`` tables, mmdet's ``arch_settings``): a tuple of
:class:`StageSpec` rows plus the few family-wide settings a builder needs. An *allocation* is a
tuple with one depth per searched stage, e.g. ``(1, 3, 7, 5)`` in the ResNet bottleneck space.

    >>> space = get_space('resnet_bottleneck')
    >>> space.max_depths, space.default_depths
    ((8, 10, 36, 14), (3, 4, 6, 3))
    >>> space.validate((1, 3, 7, 5))
    (1, 3, 7, 5)
    >>> space.validate((1, 3, 40, 5))
    Traceback (most recent call last):
    ...
    supernet.spaces.AllocationError: space 'resnet_bottleneck': stage 2 (layer3) has depth 40, allowed 1..36
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
import re
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

import numpy as np

BLOCK_TYPES = ('basic', 'bottleneck', 'inverted_residual')
FAMILIES = ('resnet', 'mobilenet_v2', 'mnasnet')


class AllocationError(ValueError):
    """An allocation does not fit its search space."""


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``depth`` blocks of one type; the first block has the stride.

    ``channels`` is mmdet's ``planes`` for ResNet blocks (a bottleneck outputs 4 × planes) and
    the output width for inverted residuals. A stage with ``searchable=False`` keeps
    ``default_depth`` blocks in every subnet (MobileNetV2's first and last layers).
    """
    name: str
    block: str
    channels: int
    stride: int
    max_depth: int
    default_depth: int
    expand_ratio: int = 1
    kernel_size: int = 3
    searchable: bool = True

    def __post_init__(self):
        if self.block not in BLOCK_TYPES:
            raise ValueError(f'stage {self.name}: block={self.block!r}, allowed {BLOCK_TYPES}')
        if not 1 <= self.default_depth <= self.max_depth:
            raise ValueError(f'stage {self.name}: default_depth={self.default_depth} must lie '
                             f'in 1..max_depth={self.max_depth}')
        if not self.searchable and self.max_depth != self.default_depth:
            raise ValueError(f'stage {self.name}: a fixed stage has max_depth == default_depth')


Allocation = tuple  # tuple[int, ...], one depth per searched stage


@dataclass(frozen=True)
class SearchSpace:
    """The stages of a family; allocations give a depth to every searchable stage.

    Args:
        name: registry name, e.g. ``'resnet_bottleneck'``.
        family: ``'resnet'``, ``'mobilenet_v2'`` or ``'mnasnet'``; picks the backbone class.
        stages: every stage in forward order, fixed ones included.
        stem_channels: width of the stem convolution.
        head_channels: width of the final 1×1 conv (MobileNet families; ``None`` for ResNet).
        small_input: a 3×3 stride-1 stem without max-pooling, for 28–64 px images (demo data).
    """
    name: str
    family: str
    stages: tuple
    stem_channels: int = 64
    head_channels: int | None = None
    small_input: bool = False

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f'space {self.name}: family={self.family!r}, allowed {FAMILIES}')
        if not self.searched:
            raise ValueError(f'space {self.name}: no searchable stage')

    @property
    def searched(self) -> tuple:
        return tuple(s for s in self.stages if s.searchable)

    @property
    def num_stages(self) -> int:
        """Number of searched stages (the paper's ``ns``), i.e. the length of an allocation."""
        return len(self.searched)

    @property
    def max_depths(self) -> Allocation:
        return tuple(s.max_depth for s in self.searched)

    @property
    def min_depths(self) -> Allocation:
        return (1,) * self.num_stages

    @property
    def default_depths(self) -> Allocation:
        return tuple(s.default_depth for s in self.searched)

    @property
    def num_allocations(self) -> int:
        return math.prod(self.max_depths)

    def validate(self, allocation: Iterable, allow_deeper: bool = False) -> Allocation:
        """Return ``allocation`` as a tuple of ints or raise :class:`AllocationError`.

        ``allow_deeper`` admits depths beyond a stage's maximum: a subnet backbone may be built
        deeper than the super-network (its extra blocks then come from elsewhere).
        """
        names = ', '.join(s.name for s in self.searched)
        if isinstance(allocation, (str, bytes)) or not isinstance(allocation, Iterable):
            raise AllocationError(f'space {self.name!r}: an allocation is a sequence of '
                                  f'{self.num_stages} ints ({names}), got {allocation!r}')
        allocation = tuple(allocation)
        if len(allocation) != self.num_stages:
            raise AllocationError(
                f'space {self.name!r}: allocation needs {self.num_stages} stage depths '
                f'({names}), got {len(allocation)}: {allocation}')
        for i, (depth, stage) in enumerate(zip(allocation, self.searched)):
            upper = '∞' if allow_deeper else str(stage.max_depth)
            if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
                raise AllocationError(f'space {self.name!r}: stage {i} ({stage.name}) has depth '
                                      f'{depth!r}, which is not an integer; allowed 1..{upper}')
            if depth < 1 or (depth > stage.max_depth and not allow_deeper):
                raise AllocationError(f'space {self.name!r}: stage {i} ({stage.name}) has depth '
                                      f'{depth}, allowed 1..{upper}')
        return tuple(int(d) for d in allocation)

    def layer_depths(self, allocation: Sequence[int]) -> dict:
        """Depth of every stage, fixed ones included, keyed by module name."""
        searched = iter(allocation)
        return {s.name: next(searched) if s.searchable else s.default_depth for s in self.stages}

    def sample(self, rng: np.random.Generator) -> Allocation:
        """Draw each searched stage's depth uniformly from 1..max_depth (paper Sec. 3.2)."""
        return tuple(int(rng.integers(1, s.max_depth + 1)) for s in self.searched)

    def replace(self, **changes) -> 'SearchSpace':
        """A variant of this space, e.g. ``space.replace(name='tiny', small_input=True)``."""
        return dataclasses.replace(self, **changes)

    def clipped(self, allocation: Iterable) -> Allocation:
        """``allocation`` with each depth capped at its stage's maximum: the deepest subnet of the
        super-network inside a candidate that may be deeper.

            >>> get_space('resnet_basic').clipped((1, 9, 2, 2))
            (1, 4, 2, 2)
        """
        allocation = self.validate(allocation, allow_deeper=True)
        return tuple(min(d, m) for d, m in zip(allocation, self.max_depths))

    def extended(self, extra: int) -> 'SearchSpace':
        """This space with ``extra`` more blocks allowed in every searched stage, named
        ``'<name>+<extra>'``: the candidates a search may take past the super-network's depth,
        whose extra blocks must come from elsewhere (``greedy_search(..., beyond_max=extra)``
        initializes them by weight transfer). ``extended(0)`` is this space.

            >>> get_space('resnet_basic').extended(2).max_depths
            (5, 6, 8, 5)
        """
        if isinstance(extra, bool) or not isinstance(extra, numbers.Integral) or extra < 0:
            raise ValueError(f'extra={extra!r}: allowed an integer >= 0 (blocks per stage)')
        if extra == 0:
            return self
        stages = tuple(dataclasses.replace(s, max_depth=s.max_depth + extra) if s.searchable
                       else s for s in self.stages)
        return self.replace(name=f'{self.name}+{extra}', stages=stages)

    def scaled(self, width: float, name: str | None = None, small_input: bool | None = None):
        """The same stages at ``width`` × the channels (rounded to multiples of 8, min 8)."""
        def scale(c):
            return max(8, int(round(c * width / 8)) * 8)
        stages = tuple(dataclasses.replace(s, channels=scale(s.channels)) for s in self.stages)
        return self.replace(
            name=name or f'{self.name}_w{width:g}', stages=stages,
            stem_channels=scale(self.stem_channels),
            head_channels=None if self.head_channels is None else scale(self.head_channels),
            small_input=self.small_input if small_input is None else small_input)


def format_allocation(allocation) -> str:
    """The one way allocations are named in logs, file names and reports: ``'1-3-7-5'``.

        >>> format_allocation((1, 3, 7, 5))
        '1-3-7-5'
    """
    return '-'.join(str(int(d)) for d in allocation)


class _AllocationTextError(AllocationError, argparse.ArgumentTypeError):
    """Text that is no allocation. Also an ``ArgumentTypeError``: a parser with
    ``type=parse_allocation`` says this message after the flag, not "invalid parse_allocation
    value"."""


# Both spellings: the printed one (format_allocation, chains, file names) and commas, whose depths
# may be negative (the space then says which stage is out of range).
_DASHED = re.compile(r'\d+(-\d+)*')
_COMMAS = re.compile(r'-?\d+(,-?\d+)*,?')


def parse_allocation(text: str) -> Allocation:
    """``'1-3-7-5'`` (as printed), ``'1,3,7,5'`` or ``'[1, 3, 7, 5]'`` → ``(1, 3, 7, 5)`` (for
    command lines); anything else is an :class:`AllocationError` naming the accepted forms.

        >>> parse_allocation('1-3-7-5'), parse_allocation('1,3,7,5')
        ((1, 3, 7, 5), (1, 3, 7, 5))
    """
    compact = re.sub(r'\s+', '', str(text))
    if compact[:1] + compact[-1:] in ('[]', '()'):
        compact = compact[1:-1]
    if _DASHED.fullmatch(compact):
        return tuple(int(p) for p in compact.split('-'))
    if _COMMAS.fullmatch(compact):
        return tuple(int(p) for p in compact.rstrip(',').split(','))
    raise _AllocationTextError(f'allocation {text!r}: expected dash- or comma-separated integers, '
                               'one depth per searched stage, e.g. 1-3-7-5 or 1,3,7,5')


# --------------------------------------------------------------------------------------- spaces

# A plain dict, not an mmengine Registry: a space is a value (a frozen dataclass), not a class a
# config builds; configs pass its name and get_space() resolves it.
_SPACES: dict = {}


def register_space(space: SearchSpace) -> SearchSpace:
    _SPACES[space.name] = space
    return space


def list_spaces() -> list:
    return sorted(_SPACES)


def get_space(space: Union[str, SearchSpace, dict]) -> SearchSpace:
    """A registered space by name (a :class:`SearchSpace` passes through)."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, str) and space in _SPACES:
        return _SPACES[space]
    raise KeyError(f'unknown search space {space!r}; registered: {", ".join(list_spaces())}')


def resnet_space(name: str, block: str, max_depths: Sequence[int],
                 default_depths: Sequence[int], base_channels: int = 64,
                 small_input: bool = False) -> SearchSpace:
    """Four stages of ``block`` with planes base·(1, 2, 4, 8) and strides (1, 2, 2, 2), as mmdet."""
    stages = tuple(
        StageSpec(f'layer{i + 1}', block, base_channels * 2**i, 1 if i == 0 else 2, m, d)
        for i, (m, d) in enumerate(zip(max_depths, default_depths)))
    return SearchSpace(name, 'resnet', stages, stem_channels=base_channels,
                       small_input=small_input)


def inverted_residual_space(name: str, family: str, layers: Sequence[tuple],
                            max_depths: Sequence[int], stem_channels: int = 32, head_channels: int = 1280) -> SearchSpace:
    """Layers given as ``(expand_ratio, channels, default_depth, stride, kernel_size)`` rows;
    the first and last layers stay fixed, the ones between are searched with ``max_depths``."""
    searched = iter(max_depths)
    stages = []
    for i, (t, c, n, s, k) in enumerate(layers):
        fixed = i in (0, len(layers) - 1)
        stages.append(StageSpec(f'layer{i + 1}', 'inverted_residual', c, s,
                                n if fixed else next(searched), n, t, k, searchable=not fixed))
    return SearchSpace(name, family, tuple(stages), stem_channels=stem_channels,
                       head_channels=head_channels)


# The paper's super-network (Sec. 4.1): [8, 10, 36, 14], about the FLOPs of ResNet-200. It holds
# ResNet-50 [3, 4, 6, 3], ResNet-101 [3, 4, 23, 3], ResNet-152 [3, 8, 36, 3] and every subnet the
# paper reports (e.g. [1, 3, 7, 5], [2, 5, 19, 7], [1, 6, 6, 3]).
register_space(resnet_space('resnet_bottleneck', 'bottleneck', (8, 10, 36, 14), (3, 4, 6, 3)))
# Basic blocks for small tests: ResNet-34 [3, 4, 6, 3] is the super-network, ResNet-18 the default.
register_space(resnet_space('resnet_basic', 'basic', (3, 4, 6, 3), (2, 2, 2, 2)))

# The demo's super-network: the paper's bottleneck space at 1/8 width (planes 8..64) with a 3×3
# stride-1 stem, so 28-px images (Fashion-MNIST) keep 28/14/7/4-px stages. Same depths, same code.
register_space(get_space('resnet_bottleneck').scaled(0.125, name='resnet_bottleneck_demo',
                                                     small_input=True))

# MobileNetV2 1.0 (mmdet's arch_settings): (expand_ratio, channels, depth, stride, kernel).
MOBILENET_V2_LAYERS = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 32, 3, 2, 3), (6, 64, 4, 2, 3),
                       (6, 96, 3, 1, 3), (6, 160, 3, 2, 3), (6, 320, 1, 1, 3))
# MnasNet-B0 (torchvision's mnasnet1_0): the 32→16 separable conv is an inverted residual with
# expand ratio 1, the first fixed layer, exactly as MobileNetV2's layer1.
MNASNET_LAYERS = ((1, 16, 1, 1, 3), (3, 24, 3, 2, 3), (3, 40, 3, 2, 5), (6, 80, 3, 2, 5),
                  (6, 96, 2, 1, 3), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))
# Five searched stages: the layers between the single-block first and last ones. Max depths
# [5, 6, 8, 7, 7] are the paper's MobileNetV2 super-network (Sec. 4.1; "the configuration is same"
# for MnasNet). They contain the standard nets (MBv2 [2, 3, 4, 3, 3], MnasNet [3, 3, 3, 2, 4]) and
# the paper's finds (Transfer-MBv2 [2, 2, 2, 3, 5], Transfer-MnasNet [3, 3, 2, 3, 4]).
MOBILE_MAX_DEPTHS = (5, 6, 8, 7, 7)
register_space(inverted_residual_space('mobilenet_v2', 'mobilenet_v2', MOBILENET_V2_LAYERS,
                                       MOBILE_MAX_DEPTHS))
register_space(inverted_residual_space('mnasnet', 'mnasnet', MNASNET_LAYERS, MOBILE_MAX_DEPTHS))
