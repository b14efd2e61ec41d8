"""TLI (paper 003): execution-path scoring, top-K softmax mixing and ComboInjection.

1. **Matching** (Sec. 3.1): the execution graph (torch.fx; module order where tracing fails) is
   cut into segments at every Add/Mul/Cat; every target unit is compared with every source unit
   of the same type on its *depth*, *branch*, *activation*, *position from the head* and
   *shape* — O(nm), one vectorized score matrix.
2. **Multiple matches** (Sec. 3.3): the top-K source units are mixed with softmax weights.
3. **Injection** (Sec. 3.2): ``λ · center_crop + (1 − λ) · resize`` with λ = 0.75; equal
   shapes copy exactly, as classic fine-tuning would. BatchNorm is injected like any tensor
   (its statistics too), switchable with ``bn=False`` as in the paper's Sec. 4.2.2 ablation.

Where the paper is silent (its footnote 3 defers the formula to a later version):

* score = shape score (DPIAT's) × weighted mean of four feature similarities in [0, 1]:
  position ``1 − |Δ segment / #segments|``; depth ``1 − |Δ longest-path depth / max depth|``;
  branch: the execution path inside the segment — the unit types from the segment's start up
  to the tensor (Sec. 3.1, Fig. 3; a conv step says whether it is pointwise or depthwise),
  compared by their common tail over the longer path, halved
  when one lies on its network's longest chain (HMT's) and the other on a side branch;
  activation ``1`` when the first activation after both is the same. Weights: ``weights=``.
  Without the path, an inverted residual's expand-conv BN was matched from the depthwise-conv
  BN of the same block (same shape, nearly the same depth).
* One unit (a layer's weight, bias and BN statistics) is matched as a whole, not tensor by
  tensor, so a BatchNorm's mean and variance come from the same layer as its weight.
* The paper mixes "in cases where we do not have a sure match"; a match scoring 1 (same shape,
  same features) is sure and copied alone. Softmax runs on ``z / temperature``: scores lie in
  [0, 1], and at temperature 1 the top 3 would be mixed nearly evenly whatever their scores.
* ``top_k`` defaults to 1 (the argmax, as the authors' code matches). Scores carry the shape
  score, so between a 64- and a 96-channel plain net the right layer and its two neighbours
  differ by ~0.015 and even at temperature 0.05 get weights ~0.5/0.3/0.2: mixing then blends
  the filters of different layers. ``top_k=3`` gives the paper's Sec. 3.3 mix; weights below
  1e-4 are dropped (renormalized), they would only cost time.
"""
from __future__ import annotations

import numpy as np

from .base import Method, Plan
from .dpiat import shape_scores
from .hmt import longest_chain
from .ops import combo
from .units import Network

DEFAULT_WEIGHTS = dict(position=0.25, depth=0.25, branch=0.3, activation=0.2)


PATH_LENGTH = 8  # units of the execution path compared (the segment is often shorter)


def path_features(net: Network) -> dict:
    """Per unit, in ``net.units`` order: position and depth (both in [0, 1]), on-main-chain
    flag, activation name, and hashes of the last 1..PATH_LENGTH steps of its execution path
    (the units from the start of its segment up to it) with the path's length."""
    graph = net.graph
    depth = graph.depth()
    chain, followers = longest_chain(net)
    main = set(chain) | {f for layer in chain for f in followers.get(layer, ())}
    max_depth = max(depth.values(), default=1)
    last_segment = max(graph.num_segments - 1, 1)
    paths = {}
    for name in graph.order:  # follow the first input back while inside the same segment
        parents = [p for p in graph.inputs[name] if graph.segment[p] == graph.segment[name]]
        paths[name] = (paths[parents[0]] if parents else ())[-(PATH_LENGTH - 1):] + \
            (_operand(net.unit[name]),)
    names = [u.name for u in net.units]
    suffixes = np.full((len(names), PATH_LENGTH), -1, dtype=np.int64)
    for row, name in enumerate(names):
        path = paths[name]
        for k in range(1, len(path) + 1):
            suffixes[row, k - 1] = hash(path[-k:]) & (2**62 - 1)
    return dict(
        position=np.array([graph.segment[n] / last_segment for n in names]),
        depth=np.array([depth[n] / max_depth for n in names]),
        main=np.array([n in main for n in names], dtype=float),
        activation=np.array([graph.activation[n] for n in names], dtype=object),
        suffixes=suffixes,
        path_length=np.array([len(paths[n]) for n in names]),
    )


def _operand(unit) -> tuple:
    """A path step, free of widths and kernel sizes (which differ between the networks): the
    unit type, and for convolutions whether it is pointwise and whether it is depthwise."""
    if unit.kind.startswith('conv') and len(unit.shape) > 2:
        return unit.kind, all(k == 1 for k in unit.shape[2:]), unit.shape[1] == 1
    return (unit.kind,)


def branch_similarity(f_t: dict, f_s: dict) -> np.ndarray:
    """(n, m): common tail of the two execution paths over the longer one, halved when one
    unit is on its network's longest chain and the other is not (a shortcut)."""
    same = (f_t['suffixes'][:, None, :] == f_s['suffixes'][None]) \
        & (f_t['suffixes'][:, None, :] >= 0)                                 # (n, m, L)
    common = np.cumprod(same, axis=-1).sum(-1)                               # (n, m)
    longer = np.maximum(f_t['path_length'][:, None], f_s['path_length'][None])
    return common / longer * np.where(f_t['main'][:, None] == f_s['main'][None], 1.0, 0.5)


class TLI(Method):
    """Transfer learning by injection.

    Args:
        lam: ComboInjection strength λ in [0, 1] (1: center crop only, 0: resize only).
        top_k: mix up to this many source units when no match is sure (default 1: argmax).
        temperature: softmax temperature on the scores (> 0).
        bn: inject BatchNorm layers (weights and statistics); False leaves them as initialized.
        weights: feature weights, keys ``position``, ``depth``, ``branch``, ``activation``.
    """
    name = 'tli'

    def __init__(self, lam: float = 0.75, top_k: int = 1, temperature: float = 0.05,
                 bn: bool = True, weights: dict | None = None):
        if not 0 <= lam <= 1:
            raise ValueError(f'tli: lam={lam}, allowed 0..1')
        if int(top_k) != top_k or top_k < 1:
            raise ValueError(f'tli: top_k={top_k}, allowed integers >= 1')
        if temperature <= 0:
            raise ValueError(f'tli: temperature={temperature}, must be > 0')
        weights = dict(DEFAULT_WEIGHTS, **(weights or {}))
        unknown = sorted(set(weights) - set(DEFAULT_WEIGHTS))
        if unknown or any(w < 0 for w in weights.values()) or not sum(weights.values()):
            raise ValueError(f'tli: weights={weights}; allowed keys {sorted(DEFAULT_WEIGHTS)} '
                             'with non-negative values, not all 0')
        total = sum(weights.values())
        self.weights = {k: w / total for k, w in weights.items()}
        self.lam, self.top_k, self.temperature, self.bn = lam, int(top_k), temperature, bn

    def scores(self, source: Network, target: Network) -> np.ndarray:
        """(target units, source units) matrix of TLI scores in [0, 1]."""
        f_t, f_s = path_features(target), path_features(source)
        shape = shape_scores([(u.kind, u.shape) for u in target.units],
                             [(u.kind, u.shape) for u in source.units])   # (n, m)
        w = self.weights
        features = (
            w['position'] * (1 - np.abs(f_t['position'][:, None] - f_s['position'][None]))
            + w['depth'] * (1 - np.abs(f_t['depth'][:, None] - f_s['depth'][None]))
            + w['branch'] * branch_similarity(f_t, f_s)
            + w['activation'] * (f_t['activation'][:, None] == f_s['activation'][None]))
        return shape * features

    def match(self, source: Network, target: Network) -> Plan:
        z = self.scores(source, target)
        plan = Plan(notes=[f'tli: lam={self.lam}, top_k={self.top_k}, temperature='
                           f'{self.temperature}, bn={self.bn}, graphs traced: '
                           f'source {source.graph.traced}, target {target.graph.traced}'])
        top = np.argsort(-z, axis=1, kind='stable')[:, :self.top_k]       # (n, K)
        for row, unit in enumerate(target.units):
            if unit.kind == 'batchnorm' and not self.bn:
                plan.reasons[unit.name] = ('skipped', 'bn=False')
                continue
            candidates = [j for j in top[row] if z[row, j] > 0]
            if not candidates:
                plan.reasons[unit.name] = ('untouched', f'no source layer of type {unit.kind}')
                continue
            if z[row, candidates[0]] >= 1 - 1e-9:   # a sure match is not mixed
                candidates = candidates[:1]
            logits = z[row, candidates] / self.temperature
            weights = np.exp(logits - logits.max())
            weights /= weights.sum()
            keep = weights >= 1e-4
            candidates, weights = np.array(candidates)[keep], weights[keep] / weights[keep].sum()
            plan.sources[unit.name] = [(source.units[j].name, float(w))
                                       for j, w in zip(candidates, weights)]
        return plan

    def adapt(self, src, dst, kind):
        return combo(src, dst, self.lam), 'copy' if src.shape == dst.shape else 'combo', 1.0
