"""Heterogeneous weight transfer between arbitrary PyTorch networks: HMT, DPIAT and TLI.

    >>> import timm
    >>> from transfer import transfer_weights, similarity
    >>> src, dst = timm.create_model('resnet18'), timm.create_model('resnet34')
    >>> report = transfer_weights(src, dst, method='dpiat')   # dst is modified in place
    >>> round(report.coverage, 2), round(similarity(src, dst), 2)
    (1.0, 0.85)

Layout: :mod:`~transfer.names` (unit kinds and module paths), :mod:`~transfer.units` (a network
as units of tensors), :mod:`~transfer.graph` (torch.fx execution graph), :mod:`~transfer.ops`
(crop, resize, kernel interpolation, cyclic stack, combo), one module per method
(:mod:`~transfer.hmt`, :mod:`~transfer.dpiat`, :mod:`~transfer.tli`), :mod:`~transfer.report`,
:mod:`~transfer.similarity` and :mod:`~transfer.core` (the entry point).
"""
from common.batchnorm import recalibrate_bn  # after a transfer: the statistics are the source's

from .core import METHODS, IncompleteTransferError, transfer_weights
from .report import TensorRecord, TransferReport
from .similarity import fingerprint, rank_sources, similarity
from .units import Network

__all__ = ['METHODS', 'IncompleteTransferError', 'Network', 'TensorRecord', 'TransferReport',
           'fingerprint', 'rank_sources', 'recalibrate_bn', 'similarity', 'transfer_weights']
