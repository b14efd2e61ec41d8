"""Key conversion from other libraries' MobileNetV2 / MnasNet to our (mmdet's) names.

ResNets need none: torchvision's, mmdet's and mmpretrain's ResNet keys are already ours. These
functions only rename keys (tensors are shared); keys they do not know, such as a classifier's,
are returned separately so nothing is dropped silently.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Mapping

_CONV_MODULE = ('expand_conv', 'depthwise_conv', 'linear_conv')


def convert_mmpretrain_mobilenet_v2(state_dict: Mapping) -> tuple:
    """mmpretrain ``MobileNetV2`` backbone → ``AllocatedMobileNetV2``.

    mmpretrain keeps a block's convs in ``conv.0..2`` (``conv.0..1`` when there is no expand conv);
    mmdet names them ``expand_conv`` / ``depthwise_conv`` / ``linear_conv``.

    Returns:
        (converted state dict, dict of keys that were not converted)
    """
    block_key = re.compile(r'(layer\d+\.\d+)\.conv\.(\d)\.(.*)')
    # Blocks with three ConvModules have an expand conv.
    expanded = {m[1] for m in map(block_key.fullmatch, state_dict) if m and m[2] == '2'}
    converted, unknown = OrderedDict(), OrderedDict()
    for key, value in state_dict.items():
        match = block_key.fullmatch(key)
        if match:
            block, index, rest = match[1], int(match[2]), match[3]
            names = _CONV_MODULE if block in expanded else _CONV_MODULE[1:]
            converted[f'{block}.{names[index]}.{rest}'] = value
        elif key.startswith(('conv1.', 'conv2.')):
            converted[key] = value
        else:
            unknown[key] = value
    return converted, unknown


def convert_torchvision_mnasnet(state_dict: Mapping) -> tuple:
    """torchvision ``mnasnet1_0`` (``model.state_dict()``) → ``AllocatedMnasNet``.

    torchvision's ``layers`` Sequential: 0–1 stem conv+BN, 3–7 the separable conv (our
    ``layer1``), 8–13 the six stacks (``layer2``…``layer7``), 14–15 the 1×1 head (``conv2``).

    Returns:
        (converted state dict, dict of keys that were not converted, e.g. ``classifier.*``)
    """
    flat = {'0': 'conv1.conv', '1': 'conv1.bn', '3': 'layer1.0.depthwise_conv.conv',
            '4': 'layer1.0.depthwise_conv.bn', '6': 'layer1.0.linear_conv.conv',
            '7': 'layer1.0.linear_conv.bn', '14': 'conv2.conv', '15': 'conv2.bn'}
    # Inside a torchvision inverted residual: conv, BN, ReLU, dw conv, BN, ReLU, conv, BN.
    inner = {'0': 'expand_conv.conv', '1': 'expand_conv.bn', '3': 'depthwise_conv.conv',
             '4': 'depthwise_conv.bn', '6': 'linear_conv.conv', '7': 'linear_conv.bn'}
    stack_key = re.compile(r'layers\.(\d+)\.(\d+)\.layers\.(\d+)\.(.*)')
    flat_key = re.compile(r'layers\.(\d+)\.(.*)')
    converted, unknown = OrderedDict(), OrderedDict()
    for key, value in state_dict.items():
        stack, single = stack_key.fullmatch(key), flat_key.fullmatch(key)
        if stack and 8 <= int(stack[1]) <= 13 and stack[3] in inner:
            converted[f'layer{int(stack[1]) - 6}.{stack[2]}.{inner[stack[3]]}.{stack[4]}'] = value
        elif single and single[1] in flat:
            converted[f'{flat[single[1]]}.{single[2]}'] = value
        else:
            unknown[key] = value
    return converted, unknown
