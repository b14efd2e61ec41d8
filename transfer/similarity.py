"""Architecture similarity (DPIAT Sec. 4) and ranking a pool of trained models as sources.

``similarity(a, b)`` is the geometric mean of DPIAT's two directed scores, each the DP matching
score over the target's number of layers: 1 for identical architectures, lower as they differ,
and low whenever either network is much larger than the other (an arithmetic mean would not
be, which is why the paper takes the geometric one). ``similarity(source, target,
directed=True)`` is the one directed score, what the authors' ``IAT.sim(source, target)``
returns: how much of the target the source can fill (1.0 for resnet34 → resnet18, whose every
layer has an exact counterpart, much less the other way round).

A model's :class:`~transfer.dpiat.Fingerprint` (its standardized structure of layer types and
shapes, no weights) is cached per model object and rebuilt only when its state-dict shapes
change; block-pair DPs are cached across models. Ranking 20 timm models takes well under a
second after their fingerprints exist.
"""
from __future__ import annotations

import math
import weakref
from typing import Iterable, Mapping

import torch.nn as nn
from tqdm import tqdm

from .dpiat import Fingerprint, directed_score, fingerprint_of
from .units import Network

_FINGERPRINTS: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()


def fingerprint(model) -> Fingerprint:
    """The cached :class:`Fingerprint` of ``model`` (a Fingerprint passes through)."""
    if isinstance(model, Fingerprint):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(f'expected an nn.Module or Fingerprint, got {type(model).__name__}')
    shapes = tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())
    cached = _FINGERPRINTS.get(model)
    if cached is not None and cached[0] == shapes:
        return cached[1]
    result = fingerprint_of(Network(model))
    _FINGERPRINTS[model] = (shapes, result)
    return result


def similarity(a, b, directed: bool = False) -> float:
    """DPIAT similarity of two models (or fingerprints), in [0, 1].

    Args:
        a, b: the models; with ``directed=True``, ``a`` is the source and ``b`` the target.
        directed: the one-directional score(a → b) of Sec. 4: the DP matching score of ``a``
            onto ``b`` over ``b``'s number of layers (the authors' ``IAT.sim``). Otherwise
            the geometric mean of both directions, which is symmetric.

    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    >>> similarity(net, net)
    1.0
    >>> round(similarity(net, nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16))), 3)
    0.5
    >>> deeper = nn.Sequential(net, nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8))
    >>> similarity(deeper, net, directed=True), round(similarity(net, deeper, directed=True), 3)
    (1.0, 0.539)
    """
    fa, fb = fingerprint(a), fingerprint(b)
    if directed:
        return directed_score(fb, fa)
    return math.sqrt(directed_score(fb, fa) * directed_score(fa, fb))


def rank_sources(target, pool, progress: bool = False) -> list:
    """Rank ``pool`` as transfer sources for ``target``, most similar first.

    Args:
        target: the model to initialize (or its fingerprint).
        pool: ``{name: model}``, or an iterable of models (named ``'<index>:<class>'``).
        progress: show a tqdm bar.

    Returns:
        ``[(name, similarity), ...]`` sorted by decreasing similarity (stable for ties).
    """
    if isinstance(pool, Mapping):
        named = list(pool.items())
    elif isinstance(pool, Iterable):
        named = [(f'{i}:{type(m).__name__}', m) for i, m in enumerate(pool)]
    else:
        raise TypeError(f'pool: expected a mapping name -> model or an iterable of models, '
                        f'got {type(pool).__name__}')
    target_fp = fingerprint(target)
    scored = [(name, similarity(target_fp, fingerprint(model)))
              for name, model in tqdm(named, desc='rank sources', disable=not progress)]
    return sorted(scored, key=lambda item: -item[1])
