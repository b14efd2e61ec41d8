"""TLI (paper 003): execution-path scoring, top-K softmax mixing and ComboInjection.

1. **Matching** (Sec. 3.1): the execution graph (torch.fx; module order where tracing fails) is
   cut into segments at every Add/Mul/Cat; every target unit is compared with every source unit
   of the same type on its *depth*, *branch*, *activation*, *position from the head* and
   *shape* — O(nm), one vectorized score matrix.
2. **Multiple matches** (Sec. 3.3): the top-K source units are mixed with softmax weights.
3. **Injection** (Sec. 3.2): ``λ · center_crop + (1 − λ) · resize`` with λ = 0.75; equal shapes
   copy exactly, as classic fine-tuning would. BatchNorm is injected like any tensor (its
   statistics too), switchable with ``bn=False`` as in the paper's Sec. 4.2.2 ablation.

Where the paper is silent (its footnote 3 defers the formula to a later version):

* score = shape score (DPIAT's) × weighted mean of four feature similarities in [0, 1]:
  position ``1 − |Δ segment / #segments|``, depth ``1 − |Δ longest-path depth / max depth|``,
  branch ``1`` when both lie on (or both off) their network's longest chain (HMT's), activation
  ``1`` when the first activation after both is the same. Weights: ``weights=``.
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

DEFAULT_WEIGHTS = dict(position=0.3, depth=0.3, branch=0.2, activation=0.2)


def path_features(net: Network) -> dict:
    """Per unit, in ``net.units`` order: position, depth (both in [0, 1]), on-main-chain flag
    and activation name."""
    graph = net.graph
    depth = graph.depth()
    chain, followers = longest_chain(net)
    main = set(chain) | {f for layer in chain for f in followers.get(layer, ())}
    max_depth = max(depth.values(), default=1)
    last_segment = max(graph.num_segments - 1, 1)
    names = [u.name for u in net.units]
    return dict(
        position=np.array([graph.segment[n] / last_segment for n in names]),
        depth=np.array([depth[n] / max_depth for n in names]),
        branch=np.array([n in main for n in names], dtype=float),
        activation=np.array([graph.activation[n] for n in names], dtype=object),
    )


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
            + w['branch'] * (f_t['branch'][:, None] == f_s['branch'][None])
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
