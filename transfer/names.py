"""What a unit's kind and its module path say, as plain strings.

The lowest module of ``transfer``: :mod:`~transfer.units`, :mod:`~transfer.graph` and the
methods all read kinds and paths this way, and it imports none of them.

    >>> is_layer('conv2d'), is_layer('batchnorm')
    (True, False)
    >>> module_prefixes('layer1.0.conv1')
    ['layer1', 'layer1.0', 'layer1.0.conv1']
"""
LAYER_KINDS = ('conv', 'conv_transpose', 'linear', 'embedding')  # prefixes; conv2d etc.


def is_layer(kind: str) -> bool:
    """A weighted layer (conv, linear, embedding): what HMT chains and DPIAT counts in blocks."""
    return kind.startswith(LAYER_KINDS)


def module_prefixes(module_name: str) -> list:
    """The module and its ancestors, outermost first: 'a.b.c' -> ['a', 'a.b', 'a.b.c']."""
    parts = module_name.split('.') if module_name else []
    return ['.'.join(parts[:k]) for k in range(1, len(parts) + 1)]
