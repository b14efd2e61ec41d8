"""Networks initialised from trained ones across architectures: the code that needs both
``supernet`` (spaces, super-networks, subnets) and ``transfer`` (HMT, DPIAT, TLI), which must not
import each other.

* :func:`init_from` — warm start: a super-network from pretrained networks (torchvision, timm,
  mmpretrain, mmdet files), their blocks copied and the rest filled by a rule of
  :data:`FILL_RULES` (``identity``, ``repeat`` or a transfer method);
* :func:`grow_subnet` / :func:`extract_subnet_beyond_max` — a subnet deeper than the
  super-network, its extra blocks initialised by weight transfer (the search scores such
  candidates through :class:`search.TransferringEvaluator`);
* :mod:`initialize.sources` (:func:`parse_source`, :func:`read_source`) — pretrained networks
  read into the project's key names (:mod:`initialize.convert` renames other libraries'
  MobileNetV2 / MnasNet keys).
"""
from .grow import extract_subnet_beyond_max, grow_subnet
from .sources import parse_source, read_source
from .warm_start import BLOCK_RULES, FILL_RULES, WarmStart, init_from

__all__ = ['BLOCK_RULES', 'FILL_RULES', 'WarmStart', 'extract_subnet_beyond_max', 'grow_subnet',
           'init_from', 'parse_source', 'read_source']
