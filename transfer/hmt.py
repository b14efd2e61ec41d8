"""HMT (paper 000): transfer along the longest chains, filter interpolation, cyclic stacking.

1. **Longest chain** (Sec. 2.3.1): in the execution graph of weighted layers (conv, linear,
   embedding), the path with the most layers, found by a DP over the topological order. In a
   ResNet it runs through every main-branch conv and skips the shortcut convs.
2. **Layer to layer** (Sec. 2.3.2): the ``l``-th layer of the source chain goes to the ``l``-th
   layer of the target chain, ``l ≤ min(m, n)``; the other layers are left alone (the paper
   discards them to avoid colliding channel permutations).
3. **Tensors**: a kernel-size mismatch is resolved by bilinear interpolation of the filters,
   a channel mismatch by cyclic stacking of output and input channels (:mod:`transfer.ops`).

Where the paper is silent:

* Layers pair up along the chains *per layer type* — the ``l``-th conv with the ``l``-th conv,
  the ``l``-th linear with the ``l``-th linear — so a classifier is never fed a conv kernel when
  the chains differ in length. ``align='stretch'`` spreads the shorter chain over the longer one
  instead of using its prefix (not in the paper).
* Norm layers and bare parameters have no place in a chain of "neural layers"; each follows the
  layer feeding it (a BatchNorm its conv, a ``cls_token`` the patch embedding), paired by type
  and order, and is cyclic-stacked with it, BN statistics included.
"""
from __future__ import annotations

from .base import Method, Plan
from .names import is_layer
from .ops import cyclic_stack, interpolate_kernel
from .units import Network

ALIGNMENTS = ('prefix', 'stretch')


def longest_chain(net: Network) -> tuple:
    """(layers on the longest chain in order, {layer: units that follow it, in order})."""
    graph = net.graph
    upstream = graph.upstream(lambda name: is_layer(net.unit[name].kind))
    length, previous = {}, {}
    for name in graph.order:
        if not is_layer(net.unit[name].kind):
            continue
        parents = [p for p in upstream[name] if p in length]
        best = max(parents, key=lambda p: length[p], default=None)  # first of equals: main path
        length[name] = 1 + (length[best] if best is not None else 0)
        previous[name] = best
    chain, end = [], None
    for name, n in length.items():  # the last of the longest: ends at the head
        if end is None or n >= length[end]:
            end = name
    while end is not None:
        chain.append(end)
        end = previous[end]
    chain.reverse()
    position = {name: i for i, name in enumerate(graph.order)}
    followers: dict = {}
    for name in graph.order:
        if not is_layer(net.unit[name].kind) and upstream[name]:
            layer = max(upstream[name], key=position.__getitem__)  # the latest layer feeding it
            followers.setdefault(layer, []).append(name)
    return chain, followers


def _pair_by_kind(targets: list, sources: list, net_t: Network, net_s: Network, align: str):
    """Pair the ``l``-th target unit of each kind with the ``l``-th source unit of that kind."""
    pairs = []
    for kind in dict.fromkeys(net_t.unit[t].kind for t in targets):
        t_list = [t for t in targets if net_t.unit[t].kind == kind]
        s_list = [s for s in sources if net_s.unit[s].kind == kind]
        if not s_list:
            continue
        if align == 'stretch' and len(t_list) > 1:
            scale = (len(s_list) - 1) / (len(t_list) - 1)
            pairs += [(t, s_list[round(i * scale)]) for i, t in enumerate(t_list)]
        else:
            pairs += list(zip(t_list, s_list))
    return pairs


class HMT(Method):
    """Heterogeneous model transfer.

    Args:
        align: ``'prefix'`` (paper: layer ``l`` to layer ``l`` for ``l ≤ min(m, n)``) or
            ``'stretch'`` (layer ``i`` of the target chain from layer ``round(i·(m-1)/(n-1))``
            of the source chain).
    """
    name = 'hmt'

    def __init__(self, align: str = 'prefix'):
        if align not in ALIGNMENTS:
            raise ValueError(f'hmt: align={align!r}, allowed {ALIGNMENTS}')
        self.align = align

    def match(self, source: Network, target: Network) -> Plan:
        s_chain, s_followers = longest_chain(source)
        t_chain, t_followers = longest_chain(target)
        plan = Plan(notes=[f'hmt: longest chains of {len(s_chain)} source and {len(t_chain)} '
                           f'target layers (align={self.align})'])
        for t, s in _pair_by_kind(t_chain, s_chain, target, source, self.align):
            plan.sources[t] = [(s, 1.0)]
            for ft, fs in _pair_by_kind(t_followers.get(t, []), s_followers.get(s, []),
                                        target, source, 'prefix'):
                plan.sources[ft] = [(fs, 1.0)]
        on_chain = set(t_chain)
        follows = {f: layer for layer, names in t_followers.items() for f in names}
        for u in target.units:
            if u.name in plan.sources:
                continue
            if u.name in on_chain:
                reason = 'beyond the source chain (l > min(m, n)) or no source layer of its type'
            elif is_layer(u.kind):
                reason = 'off the longest chain'
            elif u.name not in follows:
                reason = 'no layer feeds it'
            elif follows[u.name] not in plan.sources:
                reason = f'follows {follows[u.name]}, which was not transferred'
            else:
                reason = 'its source layer has no follower of this type'
            plan.reasons[u.name] = ('untouched', reason)
        return plan

    def adapt(self, src, dst, kind):
        ops, out = [], src
        if kind.startswith('conv') and src.dim() >= 3 and src.shape[2:] != dst.shape[2:]:
            out = interpolate_kernel(out, dst.shape[2:])   # (O, I, kh, kw) -> (O, I, kh', kw')
            ops.append('kernel_interp')
        if out.shape != dst.shape:
            out = cyclic_stack(out, dst.shape)             # (O, I, ...) -> (O', I', ...)
            ops.append('cyclic_stack')
        out = out.to(dst.dtype)
        return (out if ops else out.clone()), '+'.join(ops) or 'copy', 1.0
