"""Warm start with every fill rule: :func:`supernet.warm_start.init_from`'s ``identity`` and
``repeat``, and the transfer methods of :mod:`transfer` (``dpiat``, ``hmt``, ``tli``).

It needs both ``supernet`` and ``transfer``, which must not import each other, so it lives here
(as :mod:`search.grow`, which grows a child past the super-network's depth the same way).
"""
from __future__ import annotations

from supernet import warm_start
from supernet.sources import checked_sources, read_source
from supernet.spaces import get_space
from transfer import METHODS, transfer_weights

FILL_RULES = (*warm_start.FILL_RULES, *sorted(METHODS))


def init_from(space, sources, fill: str = 'identity', seed: int = 0, head: bool = True,
              **transfer_options) -> warm_start.WarmStart:
    """:func:`supernet.warm_start.init_from`, where ``fill`` may also be a transfer method.

    With a transfer method, the whole super-network is first initialised from the first source
    by :func:`transfer.transfer_weights` — from the static backbone of its depths when it fits
    the space, else from the network its library builds (``timm:NAME=PATH``,
    ``torchvision:NAME=PATH`` or an ``nn.Module``); then the blocks of every source that fits
    are copied over it exactly. A source of another family, other widths or a non-prefix layout
    is thus filled only through an explicitly chosen method.

    Args:
        **transfer_options: passed to :func:`transfer.transfer_weights` (e.g. TLI's ``lam``).
    """
    if fill not in FILL_RULES:
        raise ValueError(f'fill={fill!r}: allowed {", ".join(FILL_RULES)}')
    if fill in warm_start.FILL_RULES:
        if transfer_options:
            raise ValueError(f'options {sorted(transfer_options)} are for transfer methods; '
                             f'fill={fill!r} takes none')
        return warm_start.init_from(space, sources, fill, seed, head)
    space = get_space(space)
    sources = [read_source(s) for s in checked_sources(sources)]
    warm = warm_start.WarmStart(space, seed)
    problems = [warm.fit_problem(source) for source in sources]
    first, first_problem = sources[0], problems[0]
    for source, problem in zip(sources[1:], problems[1:]):
        if problem:  # only the first source is transferred from; the others are copied
            raise ValueError(f'{problem}; only the first source may differ from the space')
    if first_problem and first.module is None:
        raise ValueError(f'{first_problem}; to transfer from it, name its architecture: '
                         'timm:NAME=PATH or torchvision:NAME=PATH')
    network = first.module if first_problem else warm.source_backbone(first)
    report = transfer_weights(network, warm.model, fill, **transfer_options)
    # the source's own key names where the transfer read the backbone built from them
    names = {} if first_problem else first.origin
    for record in report.records:
        if record.status == 'transferred':
            source_key = names.get(record.source, record.source)
            warm.records[record.target] = warm_start.TensorOrigin(
                record.target, f'{first.name}:{source_key}', fill, record.op, record.covered)
    for source, problem in zip(sources, problems):
        if problem:
            warm.sources.append(source)
        else:
            warm.copy(source, head)
    warm.fill = fill
    return warm
