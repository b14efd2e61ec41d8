"""DPIAT (paper 002): standardization into blocks, shape score, two-level DP matching and
center-crop transfer.

1. **Standardization** (App. A.1, Algorithm 1): a DFS over the module tree. Its leaves are the
   tree's leaves — every module without children (activations, ``Identity``, drop-path,
   pooling, ``Flatten`` included) and every conv / linear / norm layer, whose own children
   (timm's ``BatchNormAct2d`` holds its ``act`` and ``drop``) are not visited. A node whose
   content has more single leaves than blocks becomes one flat block (not at the root); a
   child with fewer than two conv/linear layers, or one that is itself a list of blocks, is
   unpacked into its parent. So timm's EfficientNet-B0 inverted residual block with
   squeeze-excite is one block of 12 leaves, its SE's SiLU and gate included (Fig. 8 of the
   paper lists the activations as layers), and MixNet-M's ``blocks.1.0`` one block of 13.
2. **Score** (Sec. 3.2): two tensors of the same layer type and rank score
   ``∏ min(s_i, t_i) / max(s_i, t_i)``. A parameter-free leaf scores 0 against everything: it
   is never matched, but it takes a place in the sequences, counts as a single layer in the
   flattening rule, and lengthens the runs it falls into.
3. **Matching** (Sec. 3.3): an LCS-like dynamic program over target × source items. A target
   item may stay unmatched, a source item may be skipped, or one source item may feed a run of
   consecutive target items, scored ``sum / sqrt(run length)``. Blocks are scored by the same
   DP over their leaves, and matched blocks are then matched leaf by leaf.
4. **Transfer** (App. A.2): :func:`transfer.ops.center_crop`. BatchNorm running statistics are
   transferred with the weights (the authors' code copies ``weight`` and ``bias`` only, which
   leaves a transferred BN normalizing with the target's random-init statistics).

Where the paper is silent we follow its authors' implementation (``iatransfer`` 1.0.3,
``BlocksStandardization`` + ``DPMatching`` + ``ShapeScore``), down to the floating-point order
of its sums, so that equal scores break the same way:

- Ties: skipping a source item beats skipping a target item, and a run is taken only if it
  scores strictly more than both; among equally scored runs the shortest wins, i.e. the earlier
  source item keeps the extra target item. resnet18 → resnet34: resnet18's ``layer1.0`` feeds
  resnet34's ``layer1.0`` and ``layer1.1``, its ``layer1.1`` feeds ``layer1.2`` (the split
  ``layer1.0`` → ``layer1.0``, ``layer1.1`` → ``layer1.1``-``layer1.2`` scores the same).
- A run's score is ``(S[i] + S[i-1] + ... + S[k]) / (i - k + 1) ** 0.5``, summed in that order.

Beyond the authors' code (which knows conv, BatchNorm and linear only): LayerNorm, GroupNorm,
embeddings etc. score against their own kind like any layer type, and tensors of modules of
unknown type (a ViT's ``cls_token``) are single layers that only meet a tensor of the same name.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .base import Method, Plan
from .names import is_layer, module_prefixes
from .ops import center_crop
from .units import Network

_BLOCK = 'block'
_NO_WEIGHTS = (None, ())  # a parameter-free leaf in a fingerprint: scores 0 against anything
_UP, _LEFT, _MATCH = 0, 1, 2


# ----------------------------------------------------------------------------- standardization

def standardize(net: Network) -> list:
    """The network as items, each a leaf or a tuple of leaves (a block).

    A leaf is a unit index (a layer with tensors) or the name (a ``str``) of a parameter-free
    module (an activation, ``Identity``, pooling, ...).
    """
    index = {u.name: i for i, u in enumerate(net.units)}
    own: dict = {}
    for unit in net.units:
        own.setdefault(unit.module, []).append(index[unit.name])
    has_units = {''} | {p for owner in own for p in module_prefixes(owner)}  # in the subtree
    kinds = [u.kind for u in net.units]

    def visit(name, module, level):
        """(nesting depth, number of conv/linear layers, content) as in App. A.1."""
        units = own.get(name, ())
        children = [(f'{name}.{c}' if name else c, m) for c, m in module.named_children()]
        if units and not kinds[units[0]].startswith('param:'):
            # A layer is a leaf: the act/drop inside timm's BatchNormAct2d are not visited
            # (the authors test isinstance before descending); children holding tensors are
            # kept so that no unit is lost.
            children = [(n, m) for n, m in children if n in has_units]
            if not children:
                return 0, int(is_layer(kinds[units[0]])), units[0]
        elif not units and not children:
            return 0, 0, name  # a parameter-free leaf
        # A module of unknown type contributes its tensors as leaves before its children.
        entries = [(0, int(is_layer(kinds[i])), i) for i in units]
        next_level = level if len(children) + len(entries) == 1 else level + 1
        entries += [visit(n, m, next_level) for n, m in children]
        items, num_layers = [], sum(e[1] for e in entries)
        for depth, layers, content in entries:
            if depth > 1 or (isinstance(content, list) and layers < 2):
                items.extend(content)  # unpack: a list of blocks, or a "block" of < 2 layers
            else:
                items.append(content)
        blocks = sum(isinstance(x, list) for x in items)
        if len(items) - blocks > blocks and level > 0:  # more single leaves: one flat block
            items = [u for x in items for u in (x if isinstance(x, list) else [x])]
            depth = 1
        else:
            depth = 2
        if len(items) == 1:
            return 1, num_layers, items[0]
        return depth, num_layers, items

    _, _, content = visit('', net.model, 0)
    content = content if isinstance(content, list) else [content]
    return [tuple(x) if isinstance(x, list) else x for x in content]


@dataclass(frozen=True)
class Fingerprint:
    """A network's standardized structure without its weights: what similarity needs.

    ``items`` holds a layer as ``(kind, shape)``, a parameter-free leaf as ``(None, ())`` and a
    block as ``('block', (leaf, ...))``. ``num_layers`` counts the units, the leaves that can
    score: the target's self-match score, by which the authors divide (see :func:`directed_score`).
    """
    items: tuple
    num_layers: int


def fingerprint_of(net: Network, items: list | None = None) -> Fingerprint:
    items = standardize(net) if items is None else items
    sig = [(u.kind, u.shape) for u in net.units]

    def leaf(x):
        return _NO_WEIGHTS if isinstance(x, str) else sig[x]

    return Fingerprint(tuple((_BLOCK, tuple(map(leaf, x))) if isinstance(x, tuple) else leaf(x)
                             for x in items), len(net.units))


# ----------------------------------------------------------------------------- score and DP

def shape_scores(targets, sources) -> np.ndarray:
    """Eq. of Sec. 3.2 for every pair of ``(kind, shape)``: (len(targets), len(sources)).

    The per-dimension ratios are multiplied in dimension order, as the authors' ``ShapeScore``
    does, so that the scores (and the DP's ties) are the same to the last bit.
    """
    if not targets or not sources:
        return np.zeros((len(targets), len(sources)))
    rank = max(1, *(len(s) for _, s in list(targets) + list(sources)))  # () if parameter-free
    kind_ids: dict = {}

    def table(layers):
        kinds = np.array([-1 if k is None else kind_ids.setdefault((k, len(s)), len(kind_ids))
                          for k, s in layers])
        shapes = np.ones((len(layers), rank))
        for row, (_, s) in enumerate(layers):
            shapes[row, :len(s)] = s
        return kinds, shapes

    kind_t, shape_t = table(targets)                              # (n,), (n, r)
    kind_s, shape_s = table(sources)                              # (m,), (m, r)
    low = np.minimum(shape_t[:, None], shape_s[None])             # (n, m, r)
    high = np.maximum(shape_t[:, None], shape_s[None])
    ratios = np.divide(low, high, out=np.ones_like(low), where=high > 0)
    ratio = ratios[..., 0]
    for dim in range(1, rank):
        ratio = ratio * ratios[..., dim]                          # (n, m)
    same_kind = (kind_t[:, None] == kind_s[None]) & (kind_t[:, None] >= 0)
    return np.where(same_kind, ratio, 0.0)


@lru_cache(maxsize=64)
def _run_tables(n: int) -> tuple:
    """For runs of target items ending at ``i`` and ``d + 1`` long, over ``(i, d)`` (n, n):
    their first item ``i - d`` (clipped to 0), whether ``d <= i``, and ``(d + 1) ** 0.5`` as
    Python computes it (``math.sqrt`` differs from ``** 0.5`` in the last bit for some n)."""
    start = np.arange(n)[:, None] - np.arange(n)[None, :]
    valid = start >= 0
    root = np.array([(d + 1) ** 0.5 for d in range(n)])
    return np.where(valid, start, 0), valid, root


def dp_match(score: np.ndarray) -> tuple:
    """The DP of Sec. 3.3 on a (target items, source items) score matrix.

    ``dp[i, j]`` is the best score matching the first ``i`` target and ``j`` source items:
    ``max(dp[i-1, j], dp[i, j-1], max_k (S[k:i, j-1].sum() / sqrt(i - k) + dp[k, j-1]))``.
    Each column is computed at once: the run term needs only column ``j - 1``, and the
    ``dp[i-1, j]`` term is a running maximum down the column. Ties as the authors' code breaks
    them: skip a source item before a target item, and a run only if strictly better than
    both, the shortest of equal runs.

    Returns:
        (best score, [(target item, source item), ...] with positive scores, in order)
    """
    n, m = score.shape
    if n == 0 or m == 0:
        return 0.0, []
    dp = np.zeros((n + 1, m + 1))
    choice = np.zeros((n + 1, m + 1), np.int8)
    run_start = np.zeros((n + 1, m + 1), np.int64)
    start, valid, root = _run_tables(n)
    rows = np.arange(n)
    for j in range(1, m + 1):
        terms = np.where(valid, score[start, j - 1], 0.0)              # (n, n): S[i - d]
        run_sum = np.cumsum(terms, axis=1)                              # S[i] + ... + S[i-d]
        run = np.where(valid, run_sum / root + dp[start, j - 1], -np.inf)
        best_d = run.argmax(1)                                          # first max: shortest
        best = run[rows, best_d]
        left = dp[1:, j - 1]
        dp[1:, j] = np.maximum.accumulate(np.maximum(left, best))
        up = dp[:-1, j]
        step = np.where(up > left, _UP, _LEFT)
        choice[1:, j] = np.where(best > np.maximum(up, left), _MATCH, step)
        run_start[1:, j] = rows - best_d
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
    """Sec. 4's score(source → target): the DP score over the target's number of layers.

    The authors' ``DPMatching.sim`` divides by the target's DP score against itself; that is
    exactly ``num_layers`` (each unit scores 1 against itself and at most 1 against anything,
    a run of ``r`` at most ``sqrt(r) <= r``), so identical networks score 1.0.
    """
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
