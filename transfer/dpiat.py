"""DPIAT (paper 002): standardization into blocks, shape score, two-level DP matching and
center-crop transfer.

1. **Standardization** (App. A.1): a DFS over the module tree turns the network into a sequence
   whose items are single layers or blocks (lists of layers) — an inverted residual block with
   its squeeze-excite becomes one block of 10 layers, the stem conv and BN stay single layers.
2. **Score** (Sec. 3.2): two tensors of the same layer type and rank score
   ``∏ min(s_i, t_i) / max(s_i, t_i)`` — per dimension, the part of the source that is
   transferred when it is larger, the part of the target that is filled when it is smaller.
3. **Matching** (Sec. 3.3): an LCS-like dynamic program over target × source items. A target
   item may stay unmatched, a source item may be skipped, or one source item may feed a run of
   consecutive target items, scored ``sum / sqrt(run length)`` (the paper's length penalty:
   more matches add score, each adds less). Blocks are scored by the same DP over their
   layers, and matched blocks are then matched layer by layer.
4. **Transfer** (App. A.2): :func:`transfer.ops.center_crop`, BatchNorm statistics included.

Where the paper is silent: parameter-free modules (activations, pooling) are not layers here —
they score 0 against everything in the paper, so leaving them out changes no match, and it makes
the similarity's denominator ("the number of layers of the target") the number of layers that
*can* score; units of unknown modules (a ViT's ``cls_token``) are single layers matched by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .base import Method, Plan
from .ops import center_crop
from .units import Network, is_layer, module_prefixes

_BLOCK = 'block'
_UP, _LEFT, _MATCH = 0, 1, 2


# ----------------------------------------------------------------------------- standardization

def standardize(net: Network) -> list:
    """The network as items: a unit index (a single layer) or a tuple of them (a block)."""
    index = {u.name: i for i, u in enumerate(net.units)}
    own: dict = {}
    for unit in net.units:
        own.setdefault(unit.module, []).append(index[unit.name])
    has_units = {''} | {p for owner in own for p in module_prefixes(owner)}  # in the subtree
    kinds = [u.kind for u in net.units]

    def visit(name, module, level):
        """(nesting depth, number of conv/linear layers, content) as in App. A.1."""
        entries = [(0, int(is_layer(kinds[i])), i) for i in own.get(name, ())]
        children = [(f'{name}.{c}' if name else c, m) for c, m in module.named_children()]
        children = [(n, m) for n, m in children if n in has_units]
        next_level = level if len(children) + len(entries) == 1 else level + 1
        entries += [visit(n, m, next_level) for n, m in children]
        if len(entries) == 1 and entries[0][0] == 0:
            return entries[0]
        items, num_layers = [], sum(e[1] for e in entries)
        for depth, layers, content in entries:
            if depth > 1 or (isinstance(content, list) and layers < 2):
                items.extend(content)  # unpack: a nested block, or a "block" of < 2 layers
            else:
                items.append(content)
        blocks = sum(isinstance(x, list) for x in items)
        if len(items) - blocks > blocks and level > 0:  # mostly single layers: one flat block
            items = [u for x in items for u in (x if isinstance(x, list) else [x])]
            depth = 1
        else:
            depth = 2
        if len(items) == 1:
            return (1, num_layers, items[0])
        return depth, num_layers, items

    depth, _, content = visit('', net.model, 0)
    content = content if isinstance(content, list) else [content]
    return [tuple(x) if isinstance(x, list) else x for x in content]


@dataclass(frozen=True)
class Fingerprint:
    """A network's standardized structure without its weights: what similarity needs.

    ``items`` holds a layer as ``(kind, shape)`` and a block as ``('block', (layer, ...))``.
    """
    items: tuple
    num_layers: int


def fingerprint_of(net: Network, items: list | None = None) -> Fingerprint:
    items = standardize(net) if items is None else items
    sig = [(u.kind, u.shape) for u in net.units]
    return Fingerprint(tuple((_BLOCK, tuple(sig[i] for i in x)) if isinstance(x, tuple) else sig[x]
                             for x in items), len(net.units))


# ----------------------------------------------------------------------------- score and DP

def shape_scores(targets, sources) -> np.ndarray:
    """Eq. of Sec. 3.2 for every pair of ``(kind, shape)``: (len(targets), len(sources))."""
    if not targets or not sources:
        return np.zeros((len(targets), len(sources)))
    rank = max(len(s) for _, s in list(targets) + list(sources))

    def table(layers):
        kinds = np.array([hash((k, len(s))) for k, s in layers])
        shapes = np.ones((len(layers), rank))
        for row, (_, s) in enumerate(layers):
            shapes[row, :len(s)] = s
        return kinds, shapes

    kind_t, shape_t = table(targets)                              # (n,), (n, r)
    kind_s, shape_s = table(sources)                              # (m,), (m, r)
    low = np.minimum(shape_t[:, None], shape_s[None])             # (n, m, r)
    high = np.maximum(shape_t[:, None], shape_s[None])
    ratio = np.divide(low, high, out=np.ones_like(low), where=high > 0).prod(-1)  # (n, m)
    return np.where(kind_t[:, None] == kind_s[None], ratio, 0.0)


def dp_match(score: np.ndarray) -> tuple:
    """The DP of Sec. 3.3 on a (target items, source items) score matrix.

    ``dp[i, j]`` is the best score matching the first ``i`` target and ``j`` source items:
    ``max(dp[i-1, j], dp[i, j-1], max_k (S[k:i, j-1].sum() / sqrt(i - k) + dp[k, j-1]))``.
    Each column is computed at once: the run term needs only column ``j - 1``, and the
    ``dp[i-1, j]`` term is a running maximum down the column.

    Returns:
        (best score, [(target item, source item), ...] with positive scores, in order)
    """
    n, m = score.shape
    dp = np.zeros((n + 1, m + 1))
    choice = np.zeros((n + 1, m + 1), np.int8)
    run_start = np.zeros((n + 1, m + 1), np.int64)
    if n == 0 or m == 0:
        return 0.0, []
    run_length = np.arange(1, n + 1)[:, None] - np.arange(n)[None, :]   # (n, n): i - k
    valid = run_length > 0
    inv_sqrt = np.where(valid, 1.0 / np.sqrt(np.maximum(run_length, 1)), 0.0)
    rows = np.arange(n)
    for j in range(1, m + 1):
        prefix = np.concatenate(([0.0], np.cumsum(score[:, j - 1])))     # (n + 1,)
        run_sum = prefix[1:, None] - prefix[None, :-1]                    # (n, n): S[k:i, j-1]
        run = np.where(valid, run_sum * inv_sqrt + dp[None, :-1, j - 1], -np.inf)
        best_k = run.argmax(1)
        best = run[rows, best_k]
        left = dp[1:, j - 1]
        dp[1:, j] = np.maximum.accumulate(np.maximum(left, best))
        up = dp[:-1, j]
        # Ties prefer leaving a source item out, then a target item, then a (longer) run.
        step = np.where(up > left, _UP, _LEFT)
        choice[1:, j] = np.where(best > np.maximum(up, left), _MATCH, step)
        run_start[1:, j] = best_k
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        if choice[i, j] == _UP:
            i -= 1
        elif choice[i, j] == _LEFT:
            j -= 1
        else:
            k = run_start[i, j]
            pairs.extend((t, j - 1) for t in range(i - 1, k - 1, -1) if score[t, j - 1] > 0)
            i, j = k, j - 1
    return float(dp[n, m]), pairs[::-1]


@lru_cache(maxsize=1 << 16)
def _align_blocks(target: tuple, source: tuple) -> tuple:
    """Layer-level DP inside a pair of blocks; cached, since blocks repeat within and across
    networks (an EfficientNet has a handful of distinct block shapes)."""
    return dp_match(shape_scores(target, source))


def align(target: Fingerprint, source: Fingerprint) -> tuple:
    """Two-level DP: blocks (and single layers), then layers inside matched blocks.

    Returns:
        (score, [((target item, layer in it or None), (source item, layer or None)), ...])
    """
    t_items, s_items = target.items, source.items
    score = np.zeros((len(t_items), len(s_items)))
    t_layers = [i for i, x in enumerate(t_items) if x[0] != _BLOCK]
    s_layers = [j for j, x in enumerate(s_items) if x[0] != _BLOCK]
    score[np.ix_(t_layers, s_layers)] = shape_scores([t_items[i] for i in t_layers],
                                                     [s_items[j] for j in s_layers])
    t_blocks = [i for i, x in enumerate(t_items) if x[0] == _BLOCK]
    s_blocks = [j for j, x in enumerate(s_items) if x[0] == _BLOCK]
    for i in t_blocks:
        for j in s_blocks:
            score[i, j] = _align_blocks(t_items[i][1], s_items[j][1])[0]
    total, pairs = dp_match(score)
    layer_pairs = []
    for i, j in pairs:
        if t_items[i][0] == _BLOCK:
            layer_pairs.extend(((i, a), (j, b))
                               for a, b in _align_blocks(t_items[i][1], s_items[j][1])[1])
        else:
            layer_pairs.append(((i, None), (j, None)))
    return total, layer_pairs


def directed_score(target: Fingerprint, source: Fingerprint) -> float:
    """Sec. 4's score(source → target): the DP score over the target's number of layers, 1.0
    for identical networks (each layer scores at most 1)."""
    return align(target, source)[0] / target.num_layers if target.num_layers else 0.0


# ----------------------------------------------------------------------------- the method

class DPIAT(Method):
    """DPIAT matching and center-crop transfer. No options: the paper fixes every choice."""
    name = 'dpiat'

    def match(self, source: Network, target: Network) -> Plan:
        s_items, t_items = standardize(source), standardize(target)
        total, pairs = align(fingerprint_of(target, t_items), fingerprint_of(source, s_items))

        def unit(net, items, position):
            item, layer = position
            index = items[item] if layer is None else items[item][layer]
            return net.units[index].name

        plan = Plan(notes=[f'dpiat: {len(t_items)} target items, {len(s_items)} source items, '
                           f'DP score {total:.2f} over {len(target.units)} target layers'])
        for t_pos, s_pos in pairs:
            plan.sources[unit(target, t_items, t_pos)] = [(unit(source, s_items, s_pos), 1.0)]
        for u in target.units:
            if u.name not in plan.sources:
                plan.reasons[u.name] = ('untouched', 'not matched by the DP')
        return plan

    def adapt(self, src, dst, kind):
        out, covered = center_crop(src, dst)
        return out, 'copy' if src.shape == dst.shape else 'center_crop', covered
