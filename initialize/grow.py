"""Subnets deeper than the super-network: their extra blocks initialized by weight transfer.

This needs both ``supernet`` (the subnet) and ``transfer`` (the methods), which must not import
each other, so it lives here. :class:`~search.transfer_candidates.TransferringEvaluator` scores
such candidates with :func:`grow_subnet`; :func:`extract_subnet_beyond_max` writes the same subnet
to a file (``tools/extract_subnet.py --beyond-max N``).
"""
from __future__ import annotations

from pathlib import Path

from common import deprecation
from supernet import build_backbone
from supernet.extract import load_supernet_checkpoint, subnet_backbone, write_subnet_checkpoint
from supernet.subnet import extract_subnet
from transfer import transfer_weights

__getattr__ = deprecation.renamed(__name__, {'export_grown_child': 'extract_subnet_beyond_max',
                                             'grow_backbone': 'grow_subnet'})


def grow_subnet(subnet, backbone, method: str = 'dpiat', **transfer_options) -> tuple:
    """Initialize ``backbone``, a subnet of the same space as ``subnet`` but deeper in some
    stages, from ``subnet``: every tensor by :func:`transfer.transfer_weights` first, then the
    subnet's own tensors copied over exactly, so the blocks both have keep their weights and only
    the new blocks come from the transfer (DPIAT alone would spread the subnet's blocks over the
    deeper stage).

    Returns:
        ``(report, coverage)``: the transfer's report and the fraction of the new blocks'
        tensors it wrote.
    """
    report = transfer_weights(subnet, backbone, method, **transfer_options)
    inherited = subnet.state_dict()
    unexpected = backbone.load_state_dict(inherited, strict=False).unexpected_keys
    if unexpected:  # cannot happen for a prefix of the same family; say so if it does
        raise RuntimeError(f'the subnet has tensors the deeper backbone lacks: {unexpected[:5]}')
    new = [r for r in report.records if r.target not in inherited and r.status != 'excluded']
    coverage = sum(r.status == 'transferred' for r in new) / len(new) if new else 1.0
    return report, coverage


def extract_subnet_beyond_max(checkpoint: str | Path, allocation, out: str | Path,
                              beyond_max: int, space=None, prefix: str | None = None,
                              input_size: int | None = None, transfer_method: str = 'dpiat',
                              **transfer_options) -> dict:
    """:func:`supernet.extract.extract_subnet_checkpoint` for an allocation up to ``beyond_max``
    blocks deeper than the super-network in any stage, made as the search scored it: the deepest
    subnet inside it is cut out and the extra blocks are initialized from it by
    :func:`grow_subnet` with ``transfer_method``; the meta then records ``transferred =
    {'method', 'source', 'coverage'}``. An allocation inside the super-network is extracted as
    usual.

    Args:
        beyond_max: blocks a stage may have past the super-network's maximum (as the search's
            ``beyond_max``); deeper is an :class:`~supernet.spaces.AllocationError`.
        space, prefix, input_size: as :func:`supernet.extract.extract_subnet_checkpoint`.
        transfer_method: 'dpiat', 'hmt' or 'tli', for the blocks past the super-network's depth.
        **transfer_options: passed to :func:`transfer.transfer_weights` (e.g. TLI's ``lam``).

    Returns:
        The backbone config of the subnet, with ``init_cfg`` pointing at ``out``.
    """
    state_dict, space, prefix = load_supernet_checkpoint(checkpoint, space, prefix)
    allocation = space.extended(beyond_max).validate(allocation)
    source = space.clipped(allocation)
    subnet_state = extract_subnet(state_dict, source, space, prefix)
    transferred = None
    if source != allocation:
        subnet_state, transferred = _grown_state(subnet_state, space, source, allocation, prefix,
                                                 transfer_method, transfer_options)
    return write_subnet_checkpoint(subnet_state, space, allocation, prefix, out, checkpoint,
                                   input_size, transferred)


def _grown_state(subnet_state, space, source, allocation, prefix, method, options) -> tuple:
    """``subnet_state`` (the model's keys at ``source``) with its backbone replaced by the one of
    ``allocation`` grown from it, and the meta's ``transferred`` entry."""
    backbone = build_backbone(space, allocation)
    _, coverage = grow_subnet(subnet_backbone(subnet_state, space, source, prefix), backbone,
                              method, **options)
    grown = {key: value for key, value in subnet_state.items() if not key.startswith(prefix)}
    grown.update((prefix + key, value) for key, value in backbone.state_dict().items())
    return grown, dict(method=method, source=list(source), coverage=round(coverage, 6))
