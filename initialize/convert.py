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


def convert_torchvision_mobilenet_v2(state_dict: Mapping) -> tuple:
    """torchvision ``mobilenet_v2`` (``model.state_dict()``) → ``AllocatedMobileNetV2``.

    ``features.0`` is the stem, ``features.1..17`` the blocks of ``layer1..7`` in order (1, 2, 3,
    4, 3, 3, 1 of them in the standard net; any counts here), ``features.18`` the 1×1 head. A
    block's ``conv`` holds conv+BN(+ReLU6) modules, then the linear conv and its BN as two entries.

    Returns:
        (converted state dict, dict of keys that were not converted, e.g. ``classifier.*``)
    """
    block_key = re.compile(r'features\.(\d+)\.conv\.(\d)\.(?:(\d)\.)?(.*)')
    edge_key = re.compile(r'features\.(\d+)\.([01])\.(.*)')
    blocks = sorted({int(m[1]) for m in map(block_key.fullmatch, state_dict) if m})
    # conv.N entries per block: 4 with an expand conv (expand, dw, linear conv, BN), else 3.
    expanded = {int(m[1]) for m in map(block_key.fullmatch, state_dict) if m and m[2] == '3'}
    stage_of = _stages_by_width(blocks, state_dict, expanded)
    converted, unknown = OrderedDict(), OrderedDict()
    for key, value in state_dict.items():
        block, edge = block_key.fullmatch(key), edge_key.fullmatch(key)
        if block:
            index, entry, inner, rest = int(block[1]), int(block[2]), block[3], block[4]
            names = ('expand_conv', 'depthwise_conv') if index in expanded else ('depthwise_conv',)
            linear = len(names)
            if entry < linear and inner is not None:
                module = f'{names[entry]}.{("conv", "bn")[int(inner)]}'
            elif entry == linear and inner is None:
                module = 'linear_conv.conv'
            elif entry == linear + 1 and inner is None:
                module = 'linear_conv.bn'
            else:
                unknown[key] = value
                continue
            stage, position = stage_of[index]
            converted[f'{stage}.{position}.{module}.{rest}'] = value
        elif edge and (edge[1] == '0' or int(edge[1]) == (blocks[-1] + 1 if blocks else -1)):
            module = 'conv1' if edge[1] == '0' else 'conv2'
            converted[f'{module}.{("conv", "bn")[int(edge[2])]}.{edge[3]}'] = value
        else:
            unknown[key] = value
    return converted, unknown


def convert_timm_mobilenet(state_dict: Mapping) -> tuple:
    """timm ``mobilenetv2_*`` / ``mnasnet_*`` (the EfficientNet builder) → our names.

    timm's ``blocks.S.B`` is stage ``layer{S+1}`` block ``B``; its first stage is a depthwise
    separable block (``conv_dw``, ``bn1``, ``conv_pw``, ``bn2``), the others inverted residuals
    (``conv_pw``, ``bn1``, ``conv_dw``, ``bn2``, ``conv_pwl``, ``bn3``); ``conv_stem``/``bn1`` and
    ``conv_head``/``bn2`` are the stem and the 1×1 head.

    Returns:
        (converted state dict, dict of keys that were not converted, e.g. ``classifier.*``)
    """
    separable = {'conv_dw': 'depthwise_conv.conv', 'bn1': 'depthwise_conv.bn',
                 'conv_pw': 'linear_conv.conv', 'bn2': 'linear_conv.bn'}
    inverted = {'conv_pw': 'expand_conv.conv', 'bn1': 'expand_conv.bn',
                'conv_dw': 'depthwise_conv.conv', 'bn2': 'depthwise_conv.bn',
                'conv_pwl': 'linear_conv.conv', 'bn3': 'linear_conv.bn'}
    edges = {'conv_stem': 'conv1.conv', 'bn1': 'conv1.bn', 'conv_head': 'conv2.conv',
             'bn2': 'conv2.bn'}
    block_key = re.compile(r'blocks\.(\d+)\.(\d+)\.([a-z_]+\d?)\.(.*)')
    edge_key = re.compile(r'([a-z_]+\d?)\.(.*)')
    with_pwl = {m[1] for m in map(block_key.fullmatch, state_dict) if m and m[3] == 'conv_pwl'}
    converted, unknown = OrderedDict(), OrderedDict()
    for key, value in state_dict.items():
        block, edge = block_key.fullmatch(key), edge_key.fullmatch(key)
        names = inverted if block and block[1] in with_pwl else separable
        if block and block[3] in names:
            converted[f'layer{int(block[1]) + 1}.{block[2]}.{names[block[3]]}.{block[4]}'] = value
        elif not block and edge and edge[1] in edges:
            converted[f'{edges[edge[1]]}.{edge[2]}'] = value
        else:
            unknown[key] = value
    return converted, unknown


def _stages_by_width(blocks, state_dict, expanded) -> dict:
    """torchvision's flat ``features`` list → ``{feature index: (stage name, position)}``.

    Strides are not in the weights, but every MobileNetV2 stage starts with a block that changes
    the width and continues with residual blocks that keep it, so a block whose input width
    differs from its output width starts the next stage (``layer1`` is the first).
    """
    stage_of, stage, position = {}, 0, 0
    for index in blocks:
        first = state_dict[f'features.{index}.conv.0.0.weight']  # expand conv, else depthwise
        in_width = first.shape[1] if index in expanded else first.shape[0]
        linear = state_dict[f'features.{index}.conv.{2 if index in expanded else 1}.weight']
        out_width = linear.shape[0]
        if stage and in_width == out_width:
            position += 1
        else:
            stage, position = stage + 1, 0
        stage_of[index] = (f'layer{stage}', position)
    return stage_of
