"""FLOPs and parameters of a space's backbones at any allocation, counted by ``mmengine.analysis``.

One trace of the deepest backbone of a space (every stage at least two blocks deep) gives
mmengine's count for every block; an allocation's count is that total minus the blocks it leaves
out. This is exact, not an estimate: every block but a stage's first is the same module on the
same input shape (stride 1, as many channels in as out), so dropping one changes no other
count. The counter checks this assumption and raises if a space breaks it. Consequently a count
is *affine* in the depths, ``count(a) = offset + Σ_i slope_i · a_i`` with ``slope_i`` the count
of one non-first block of stage ``i`` — the form :mod:`search.budgets` builds on. For the same
reason the count of a subnet deeper than the space allows (a candidate initialized by
transfer) is exact too.

FLOPs are mmengine's: one multiply-add counts as one, BatchNorm is counted, element-wise additions
and activations are not. Counts are for batch 1 at ``input_shape`` and cover the backbone only.

    >>> from supernet import get_space
    >>> counter = ComplexityCounter(get_space('resnet_basic').scaled(0.25, small_input=True))
    >>> counter.input_shape
    (3, 32, 32)
    >>> counter.flops((1, 1, 1, 1)) + 2 * counter.flop_slopes[2] == counter.flops((1, 1, 3, 1))
    True
"""
from __future__ import annotations

from supernet import build_backbone, get_space

COUNT_KINDS = ('flops', 'params')


class ComplexityCounter:
    """Backbone FLOPs and parameters of every allocation of ``space`` from one mmengine trace.

    Args:
        space (str | SearchSpace): the search space.
        input_shape (tuple): (C, H, W) of the counted input. Default: (3, 32, 32) for a
            ``small_input`` space, else (3, 224, 224). Detection users pass their test size,
            e.g. (3, 800, 1333).
        **backbone_kwargs: passed to :func:`supernet.build_backbone` (e.g. ``out_indices``).

    Attributes:
        flop_slopes, param_slopes (tuple[int]): count of one added block, per searched stage.
        flop_offset, param_offset (int): the count at all-zero depths (so that
            ``flops(a) == flop_offset + Σ flop_slopes[i] · a[i]``).
    """

    def __init__(self, space, input_shape: tuple | None = None, **backbone_kwargs):
        self.space = get_space(space)
        if input_shape is None:
            input_shape = (3, 32, 32) if self.space.small_input else (3, 224, 224)
        self.input_shape = tuple(int(d) for d in input_shape)
        if len(self.input_shape) != 3:
            raise ValueError(f'input_shape={input_shape}: expected (C, H, W)')
        flops, params = _block_counts(self.space, self.input_shape, backbone_kwargs)
        self.flop_offset, self.flop_slopes = self._affine(flops, 'FLOPs')
        self.param_offset, self.param_slopes = self._affine(params, 'parameters')

    def _affine(self, by_module: dict, what: str) -> tuple:
        """(offset, slopes) from the per-module counts of the deepest network."""
        total, slopes = by_module[''], []
        for stage in self.space.searched:
            added = {by_module.get(f'{stage.name}.{j}', 0) for j in range(1, _traced(stage))}
            if len(added) > 1:
                raise ValueError(
                    f'space {self.space.name!r}: the non-first blocks of stage {stage.name} differ '
                    f'in {what} ({sorted(added)}), so counts are not affine in the depths')
            slopes.append(added.pop() if added else 0)
        offset = total - sum(s * _traced(stage) for s, stage in zip(slopes, self.space.searched))
        return int(offset), tuple(int(s) for s in slopes)

    def flops(self, allocation) -> int:
        """mmengine's FLOPs (multiply-adds) of the backbone at ``allocation``."""
        a = self._depths(allocation)
        return self.flop_offset + sum(s * d for s, d in zip(self.flop_slopes, a))

    def params(self, allocation) -> int:
        """Parameters of the backbone at ``allocation``."""
        a = self._depths(allocation)
        return self.param_offset + sum(s * d for s, d in zip(self.param_slopes, a))

    def _depths(self, allocation) -> tuple:
        """The validated depths. A stage may be deeper than the space allows (a candidate whose
        extra blocks are initialized by transfer): its added blocks are copies of the traced
        non-first block, so the affine count stays exact."""
        return self.space.validate(allocation, allow_deeper=True)

    def affine(self, kind: str) -> tuple:
        """``(offset, slopes)`` of ``kind`` ('flops' or 'params')."""
        if kind == 'flops':
            return self.flop_offset, self.flop_slopes
        if kind == 'params':
            return self.param_offset, self.param_slopes
        raise ValueError(f'kind={kind!r}: allowed {COUNT_KINDS}')

    def __repr__(self):
        return f'ComplexityCounter({self.space.name!r}, input_shape={self.input_shape})'


_COUNTS: dict = {}  # (space, input shape, backbone kwargs) -> counts; a trace takes seconds


def _block_counts(space, input_shape: tuple, backbone_kwargs: dict) -> tuple:
    """mmengine's per-module FLOPs and parameters of ``space``'s deepest backbone."""
    key = (space, input_shape, repr(sorted(backbone_kwargs.items())))
    if key not in _COUNTS:
        _COUNTS[key] = _trace(space, input_shape, backbone_kwargs)
    return _COUNTS[key]


def _trace(space, input_shape: tuple, backbone_kwargs: dict) -> tuple:
    from mmengine.analysis import parameter_count

    from supernet.extract import flop_analyzer
    depths = tuple(_traced(stage) for stage in space.searched)
    model = build_backbone(space, depths, **backbone_kwargs).eval()
    flops = dict(flop_analyzer(model, input_shape).by_module())
    return flops, dict(parameter_count(model))


def _traced(stage) -> int:
    """Blocks of ``stage`` in the traced backbone: its maximum, and at least two, so that even a
    one-block stage shows what an added block costs."""
    return max(stage.max_depth, 2)
