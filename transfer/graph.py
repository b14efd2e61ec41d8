"""The execution graph of a network at unit level, from torch.fx.

HMT needs the longest chain of layers and TLI the execution path around each tensor (its depth,
its branch, the activation after it and its segment from the head). Both come from one pass over
the ``torch.fx`` graph, reduced to units: which units feed each unit directly (through any
number of parameter-free ops), in execution order.

Where symbolic tracing fails (data-dependent control flow), the graph falls back to module
order — every unit feeds the next — with a warning, as docs/design.md asks.
"""
from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass

import torch.fx as fx
import torch.nn as nn

from .names import is_layer, module_prefixes

ACTIVATIONS = {'relu', 'relu6', 'silu', 'swish', 'gelu', 'gelutanh', 'quickgelu', 'sigmoid',
               'hardswish', 'hard_swish', 'hardsigmoid', 'hard_sigmoid', 'tanh', 'leakyrelu',
               'leaky_relu', 'mish', 'elu', 'selu', 'celu', 'softplus', 'prelu'}
_SYNONYMS = {'swish': 'silu', 'hard_swish': 'hardswish', 'hard_sigmoid': 'hardsigmoid',
             'leaky_relu': 'leakyrelu'}
# Ops that join two computed tensors: TLI's AddBackward0 / MulBackward0 / CatBackward.
_MERGES = {'add', 'iadd', 'mul', 'imul', 'cat', 'concat', 'concatenate', 'stack'}


def _activation_name(name: str) -> str | None:
    name = name.lower().rstrip('_')
    return _SYNONYMS.get(name, name) if name in ACTIVATIONS else None


@dataclass
class UnitGraph:
    """Units in execution order and how they feed each other.

    Attributes:
        order: unit names in execution order (units the forward never reaches come last).
        inputs: unit → the units feeding it directly (through parameter-free ops only).
        activation: unit → first activation after it, looking through norm layers ('' if none).
        segment: unit → index of its segment, the graph being cut at every Add/Mul/Cat that
            joins two computed tensors (TLI Sec. 3.1); ``num_segments`` of them.
        traced: False when torch.fx failed and this is module order.
    """
    order: list
    inputs: dict
    activation: dict
    segment: dict
    num_segments: int
    traced: bool

    def upstream(self, keep) -> dict:
        """unit → nearest upstream units among those where ``keep(unit name)`` holds."""
        result = {}
        for name in self.order:
            found = []
            for parent in self.inputs[name]:
                found.extend([parent] if keep(parent) else result.get(parent, ()))
            result[name] = tuple(dict.fromkeys(found))
        return result

    def depth(self) -> dict:
        """unit → units on the longest path from the input up to and including it."""
        depth = {}
        for name in self.order:
            depth[name] = 1 + max((depth[p] for p in self.inputs[name] if p in depth), default=0)
        return depth


class _UnitTracer(fx.Tracer):
    """Stops at the smallest modules owning tensors, so each unit is one ``call_module`` node.

    A module owning tensors *and* submodules with tensors (ConvNeXt's block with its ``gamma``)
    is traced through; its own tensors show up as ``get_attr`` nodes.
    """

    def __init__(self, leaves: set):
        self._notrace, autowrap = (), ()
        # timm marks modules and functions fx cannot trace through. Only a timm model needs
        # them, and timm is imported once one exists: importing it for any other model is slow
        # (it pulls in huggingface_hub, httpx, ...).
        if 'timm' in sys.modules:
            try:
                from timm.models._features_fx import get_notrace_functions, get_notrace_modules
                self._notrace = tuple(get_notrace_modules())
                autowrap = tuple(get_notrace_functions())
            except ImportError:  # a timm without these lists
                pass
        super().__init__(autowrap_functions=autowrap)
        self.leaves = leaves

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return (qualname in self.leaves or isinstance(m, self._notrace)
                or super().is_leaf_module(m, qualname))


def _leaf_modules(units: list) -> set:
    owners = {u.module for u in units}
    ancestors = {p for o in owners for p in module_prefixes(o)[:-1]}
    if owners - {''}:
        ancestors.add('')  # the root holds every other owner
    return owners - ancestors


def _target_name(node: fx.Node) -> str:
    target = node.target
    return target if isinstance(target, str) else getattr(target, '__name__', str(target))


def build_unit_graph(model: nn.Module, units: list) -> UnitGraph:
    """The graph of ``units`` (:class:`transfer.units.Unit`, in state-dict order) in ``model``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            graph = _UnitTracer(_leaf_modules(units)).trace(model)
    except Exception as error:  # noqa: BLE001 - any tracing failure means: use module order
        warnings.warn(f'torch.fx cannot trace {type(model).__name__} '
                      f'({type(error).__name__}: {str(error)[:200]}); using module order '
                      'for its execution graph', stacklevel=3)
        return _module_order_graph(model, units)
    return _reduce(model, units, graph)


def _reduce(model: nn.Module, units: list, graph: fx.Graph) -> UnitGraph:
    units_under: dict = {}  # module -> units of it and its submodules (a leaf holds them all)
    for unit in units:
        for prefix in module_prefixes(unit.module) or ['']:
            units_under.setdefault(prefix, []).append(unit.name)
    param_unit = {key: u.name for u in units if u.kind.startswith('param:')
                  for key in u.keys.values()}
    kind = {u.name: u.kind for u in units}

    inputs, activation, segment, order = {}, {}, {}, []
    feeders: dict = {}     # data node -> nearest upstream units of its output
    from_params: dict = {}  # parameter-only node (get_attr, gamma.reshape(...)) -> its units
    current_segment = 0
    for node in graph.nodes:
        if node.op == 'get_attr':
            from_params[node] = (param_unit[node.target],) if node.target in param_unit else ()
            continue
        data = [i for i in node.all_input_nodes if i in feeders]
        params = [u for i in node.all_input_nodes for u in from_params.get(i, ())]
        if node.op != 'placeholder' and (not data and node.op != 'call_module' or _is_shape(node)):
            from_params[node] = tuple(params)  # computes on parameters or shapes only
            continue
        upstream = list(dict.fromkeys(u for i in data for u in feeders[i]))
        if node.op == 'call_module':
            params = units_under.get(node.target, [])
        applied = [u for u in dict.fromkeys(params) if u not in inputs]  # first use only
        if len(data) >= 2 and _target_name(node).lower().rstrip('_') in _MERGES:
            current_segment += 1
        for name in applied:
            inputs[name], segment[name] = tuple(upstream), current_segment
            order.append(name)
            upstream = [name]
        feeders[node] = tuple(upstream)
        act = _node_activation(node, model)
        if act and not applied:
            _mark_activation(act, feeders[node], inputs, activation, kind)
        if node.op == 'call_module' and applied:
            inner = _inner_activation(model.get_submodule(node.target))
            if inner:
                _mark_activation(inner, applied, inputs, activation, kind)
    for unit in units:  # never reached by the forward: keep them, at the end
        if unit.name not in inputs:
            inputs[unit.name], segment[unit.name] = (), current_segment
            order.append(unit.name)
    activation = {name: activation.get(name, '') for name in order}
    return UnitGraph(order, inputs, activation, segment, current_segment + 1, traced=True)


def _is_shape(node: fx.Node) -> bool:
    """``x.shape``, ``x.size()``, ``x.dim()``: metadata, not a data path."""
    if node.op == 'call_method':
        return node.target in ('size', 'dim', 'numel')
    return node.op == 'call_function' and node.target is getattr and \
        len(node.args) > 1 and node.args[1] in ('shape', 'ndim', 'dtype', 'device')


def _node_activation(node: fx.Node, model: nn.Module) -> str | None:
    if node.op == 'call_module':
        module = model.get_submodule(node.target)
        return None if any(True for _ in module.parameters()) else \
            _activation_name(type(module).__name__)
    if node.op in ('call_function', 'call_method'):
        return _activation_name(_target_name(node))
    return None


def _inner_activation(module: nn.Module) -> str | None:
    """An activation inside a leaf (timm's BatchNormAct2d keeps its ``act`` as a child)."""
    for child in module.modules():
        if child is not module:
            name = _activation_name(type(child).__name__)
            if name:
                return name
    return None


def _mark_activation(act, units, inputs, activation, kind):
    """``act`` follows ``units``; through a norm layer (or a bare parameter) it also follows the
    layer before it (``kind``: unit -> its kind)."""
    stack = list(units)
    while stack:
        name = stack.pop()
        if activation.get(name):
            continue
        activation[name] = act
        if not is_layer(kind[name]):
            stack.extend(p for p in inputs.get(name, ()) if not activation.get(p))


def _module_order_graph(model: nn.Module, units: list) -> UnitGraph:
    """Fallback: units chained in state-dict order; activations from module order."""
    order = [u.name for u in units]
    inputs = {name: (order[i - 1],) if i else () for i, name in enumerate(order)}
    activation, pending = {}, []
    kind = {u.name: u.kind for u in units}
    owner = {u.module: [] for u in units}
    for u in units:
        owner[u.module].append(u.name)
    for module_name, module in model.named_modules():
        if module_name in owner:
            if any(is_layer(kind[n]) for n in owner[module_name]):
                pending = []
            pending.extend(owner[module_name])
            inner = _inner_activation(module)
            if inner:
                activation.update({n: inner for n in pending})
                pending = []
        elif not list(module.children()) and pending:
            act = _activation_name(type(module).__name__)
            if act:
                activation.update({n: act for n in pending})
                pending = []
    activation = {name: activation.get(name, '') for name in order}
    return UnitGraph(order, inputs, activation, {n: 0 for n in order}, 1, traced=False)

