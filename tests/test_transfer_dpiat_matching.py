"""DPIAT's standardization and matching pinned on timm pairs, each expectation derived by hand
from the paper's rules (paper 002, App. A.1 and Sec. 3.2-3.4) and, where the paper is silent,
from its authors' ``iatransfer`` code, as described at the top of ``transfer/dpiat.py``.

The rules the derivations use:

- Standardization: every leaf of the module tree is an item, parameter-free ones (activations,
  ``Identity``, pooling) included; conv / BN / linear layers are leaves (the act and drop
  inside timm's ``BatchNormAct2d`` are not visited). A node with more single leaves than
  blocks becomes one flat block; a subnet with < 2 conv/linear layers, or that is itself a
  list of blocks, is unpacked into its parent.
- Score: layers of one type and rank score ``prod_i min(s_i, t_i) / max(s_i, t_i)``; anything
  else, parameter-free leaves included, scores 0.
- DP: one source item may feed a run of consecutive target items for ``sum / sqrt(length)``;
  a run is taken only if strictly better than skipping a source or a target item; equal runs:
  the shortest; skipping a source item and skipping a target item tied: skip the source item.

Random weights (``pretrained=False``): the matching depends on shapes only.
"""
from functools import lru_cache

import pytest
import timm
import torch
import torch.nn as nn

from transfer import similarity, transfer_weights
from transfer.dpiat import DPIAT, align, fingerprint_of, standardize
from transfer.ops import center_crop
from transfer.units import Network


@lru_cache(maxsize=None)
def network(name: str) -> Network:
    return Network(timm.create_model(name, pretrained=False))


@lru_cache(maxsize=None)
def matching(source: str, target: str) -> dict:
    """target unit -> source unit, as DPIAT matches them."""
    plan = DPIAT().match(network(source), network(target))
    return {t: sources[0][0] for t, sources in plan.sources.items()}


def block_named(net: Network, prefix: str) -> list:
    """The standardized block whose leaves all lie under ``prefix``, as leaf names."""
    def name(leaf):
        return leaf if isinstance(leaf, str) else net.units[leaf].name
    for item in standardize(net):
        if isinstance(item, tuple) and all(name(x).startswith(prefix + '.') for x in item):
            return [name(x) for x in item]
    raise AssertionError(f'no block for {prefix}')


# ----------------------------------------------------------------------------- mixnet_s -> mixnet_m

def test_mixnet_m_inverted_residual_is_one_block_with_its_parameter_free_leaves():
    # mixnet_m blocks.1.0 (InvertedResidual) has 9 subnets: conv_pw (MixedConv2d of 2 convs),
    # bn1, conv_dw (3 convs), bn2, aa, se (both Identity), conv_pwl (2 convs), bn3, drop_path.
    # Each MixedConv2d has 2 single leaves and no block -> one flat block with >= 2 convs,
    # kept whole in the parent. The parent then holds 6 single leaves (bn1, bn2, aa, se, bn3,
    # drop_path) and 3 blocks: 6 > 3, so it is flattened into one block of 2+1+3+1+1+1+2+1+1 =
    # 13 leaves. (Without the parameter-free leaves it would be 3 singles vs 3 blocks: not
    # flattened, and its 6 items would land at the top level of the network.)
    pw, dw, pwl = 'blocks.1.0.conv_pw', 'blocks.1.0.conv_dw', 'blocks.1.0.conv_pwl'
    assert block_named(network('mixnet_m'), 'blocks.1.0') == [
        f'{pw}.0', f'{pw}.1', 'blocks.1.0.bn1', f'{dw}.0', f'{dw}.1', f'{dw}.2',
        'blocks.1.0.bn2', 'blocks.1.0.aa', 'blocks.1.0.se', f'{pwl}.0', f'{pwl}.1',
        'blocks.1.0.bn3', 'blocks.1.0.drop_path']
    # The squeeze-excite's activation and gate are leaves of the block (Fig. 8 of the paper
    # lists the SiLUs as layers); BatchNormAct2d's own act is not.
    block = block_named(network('mixnet_m'), 'blocks.2.0')
    assert {'blocks.2.0.se.act1', 'blocks.2.0.se.gate'} <= set(block)
    assert not any(name.startswith('blocks.2.0.bn1.') for name in block)


def test_mixnet_s_to_mixnet_m_second_stage_block():
    # Target mixnet_m blocks.1.0 (13 leaves above) and source mixnet_s blocks.1.0 (11 leaves:
    # conv_pw.0/.1 (48, 8, 1, 1), bn1 (96), conv_dw (96, 1, 3, 3), bn2 (96), aa, se,
    # conv_pwl.0/.1 (12, 48, 1, 1), bn3 (24), drop_path) are both blocks, so they are matched
    # as blocks and then leaf by leaf. At the block level the in-order assignment
    # 1.0 <- 1.0 and 1.1 <- 1.1 scores 4.47 + 5.25 = 9.72 (per-leaf scores below, and for 1.1:
    # 0.5625 x 2, 0.75, 0.75, 0.75, 0.5625 x 2, 0.75), more than source 1.0 running over both
    # target blocks, (4.47 + 6.25) / sqrt 2 = 7.58.
    # Inside the block pair, the in-order (diagonal) pairs score
    #   conv_pw.k (72, 12) <- conv_pw.k (48, 8): 2/3 * 2/3 = 0.444 each; bn1, bn2 144 <- 96: 0.667
    #   conv_dw.0 (48, 1, 3, 3) <- conv_dw (96, 1, 3, 3): 0.5
    #   conv_pwl.k (16, 72) <- conv_pwl.k (12, 48): 3/4 * 2/3 = 0.5 each; bn3 32 <- 24: 0.75.
    # The source has one depthwise conv for the target's three (3x3, 5x5, 7x7 kernels): alone
    # on conv_dw.0 it scores 0.5; running on to conv_dw.1 (0.5 * 9/25 = 0.18) gives
    # (0.5 + 0.18) / sqrt 2 = 0.48, and over all three (0.5 + 0.18 + 0.092) / sqrt 3 = 0.45,
    # both less. So conv_dw.1 and conv_dw.2 keep their initialization.
    match = matching('mixnet_s', 'mixnet_m')
    for leaf in ('conv_pw.0', 'conv_pw.1', 'bn1', 'bn2', 'conv_pwl.0', 'conv_pwl.1', 'bn3'):
        assert match[f'blocks.1.0.{leaf}'] == f'blocks.1.0.{leaf}', leaf
    assert match['blocks.1.0.conv_dw.0'] == 'blocks.1.0.conv_dw'
    assert 'blocks.1.0.conv_dw.1' not in match and 'blocks.1.0.conv_dw.2' not in match


def test_mixnet_s_to_mixnet_m_identical_blocks_are_copied():
    # mixnet_m blocks.2.1-2.3 have exactly the shapes of mixnet_s blocks.2.1-2.3 (and both
    # are preceded by one block of stage 2 and a stage 1 of two blocks): each pair scores 11,
    # one per weighted leaf, the most any source can give a target block of 11 units, and no
    # other target block has these shapes, so the DP copies the three in order.
    match = matching('mixnet_s', 'mixnet_m')
    src, dst = network('mixnet_s'), network('mixnet_m')
    for block in ('blocks.2.1', 'blocks.2.2', 'blocks.2.3'):
        units = [u.name for u in dst.units if u.name.startswith(block + '.')]
        assert len(units) == 11
        assert all(match[u] == u and src.unit[u].shape == dst.unit[u].shape for u in units)


# ----------------------------------------------------------------------------- resnet18 -> resnet34

def test_resnet18_to_resnet34_tie_goes_to_the_earlier_source_block():
    # Stage 1: resnet18 has two identical BasicBlocks (conv1, bn1, conv2, bn2 at 64 channels,
    # plus 4 parameter-free leaves), resnet34 three of the same shapes. Each block pair scores
    # 4; one source block running over two target blocks scores 8 / sqrt 2 = 5.66. Splitting
    # two source blocks over three target blocks gives 4 + 5.66 either way (source 1.0 on
    # target 1.0 and source 1.1 on 1.1-1.2, or 1.0 on 1.0-1.1 and 1.1 on 1.2) - every other
    # split scores less (3 target blocks on one source block: 12 / sqrt 3 = 6.93 < 9.66).
    # The two totals are the same float (2 + 4 + 5.66 and 2 + 5.66 + 4 round the same exact
    # sum), so the tie rule decides: the shortest run for the later source block, i.e. the
    # earlier source block layer1.0 feeds target layer1.0 and layer1.1.
    match = matching('resnet18', 'resnet34')
    for leaf in ('conv1', 'bn1', 'conv2', 'bn2'):
        assert match[f'layer1.0.{leaf}'] == f'layer1.0.{leaf}'
        assert match[f'layer1.1.{leaf}'] == f'layer1.0.{leaf}'
        assert match[f'layer1.2.{leaf}'] == f'layer1.1.{leaf}'


# ----------------------------------------------------------------------------- resnet18 -> resnet50

@pytest.mark.parametrize('stage', ['layer2', 'layer3', 'layer4'])
def test_resnet18_to_resnet50_downsampling_block(stage):
    # The first block of stages 2-4 is the only one with a downsample in both networks, so
    # (in order, stage by stage) resnet50's {stage}.0 Bottleneck is fed by resnet18's {stage}.0
    # BasicBlock. With C the stage's width, the target block's leaves are
    #   conv1 (C, 2C, 1, 1), bn1, act1, conv2 (C, C, 3, 3), bn2, drop_block, act2, aa,
    #   conv3 (4C, C, 1, 1), bn3 (4C), act3, downsample.0 (4C, 2C, 1, 1), downsample.1 (4C)
    # and the source block's conv1 (C, C/2, 3, 3), bn1, drop_block, act1, aa,
    # conv2 (C, C, 3, 3), bn2, act2, downsample.0 (C, C/2, 1, 1), downsample.1 (C).
    # In order: conv1 <- conv1 (1/4 * 1/9), bn1 <- bn1 (1), conv2 <- conv2 (1), bn2 <- bn2 (1);
    # the source downsample conv scores 1/4 * 1/2 = 0.125 on conv3 and 1/4 * 1/4 on the target
    # downsample conv, so it feeds conv3. After it, the source downsample BN scores 1/4 on
    # bn3 and 1/4 on downsample.1. Alone on bn3: 0.25. Running over bn3, act3, downsample.0,
    # downsample.1: (0.25 + 0 + 0 + 0.25) / sqrt 4 = 0.25 - a tie, and a run must be strictly
    # better than leaving downsample.1 out, so bn3 alone gets it. Without the parameter-free
    # act3 the run would be 3 long, 0.5 / sqrt 3 = 0.29 > 0.25, and downsample.1 would be fed.
    match = matching('resnet18', 'resnet50')
    for leaf in ('conv1', 'bn1', 'conv2', 'bn2'):
        assert match[f'{stage}.0.{leaf}'] == f'{stage}.0.{leaf}'
    assert match[f'{stage}.0.conv3'] == f'{stage}.0.downsample.0'
    assert match[f'{stage}.0.bn3'] == f'{stage}.0.downsample.1'
    assert f'{stage}.0.downsample.0' not in match and f'{stage}.0.downsample.1' not in match


def test_resnet18_to_resnet50_values():
    # The matched tensors are center-cropped into the target: bn3 (4C) gets the source
    # downsample BN (C) in its middle, running statistics included.
    src = timm.create_model('resnet18', pretrained=False)
    dst = timm.create_model('resnet50', pretrained=False)
    with torch.no_grad():
        for p in src.parameters():
            p.copy_(torch.randn_like(p))
        src.layer2[0].downsample[1].running_var.uniform_(0.5, 1.5)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    transfer_weights(src, dst, 'dpiat')
    for key in ('weight', 'bias', 'running_var'):
        value = getattr(src.layer2[0].downsample[1], key)
        assert torch.equal(getattr(dst.layer2[0].bn3, key),
                           center_crop(value, before[f'layer2.0.bn3.{key}'])[0])
    assert torch.equal(dst.layer2[0].downsample[1].weight, before['layer2.0.downsample.1.weight'])


# ------------------------------------------------------------------ resnet18 -> efficientnet_b0

def test_resnet18_to_efficientnet_b0_first_block_leaves_squeeze_excite_alone():
    # efficientnet_b0 blocks.0.0 (DepthwiseSeparableConv) is one block of 10 leaves:
    #   conv_dw (32, 1, 3, 3), bn1 (32), aa, se.conv_reduce (8, 32, 1, 1), se.act1,
    #   se.conv_expand (32, 8, 1, 1), se.gate, conv_pw (16, 32, 1, 1), bn2 (16), drop_path
    # (SqueezeExcite: 4 single leaves -> a flat block with 2 convs; the parent has 8 singles
    # and 1 block -> flattened). It is fed by resnet18's layer1.0 (the first block of each,
    # after the stems): conv1 (64, 64, 3, 3), bn1, drop_block, act1, aa, conv2, bn2, act2.
    # conv_dw <- conv1 (1/2 * 1/64), bn1 <- bn1 (1/2), bn2 <- bn2 (1/4). conv2 then feeds the
    # convs between the BNs: alone on conv_pw it scores 1/4 * 1/2 * 1/9 = 0.0139; over
    # conv_reduce .. conv_pw it also gets conv_reduce's and conv_expand's 1/8 * 1/2 * 1/9 =
    # 0.0069 each but the run is 5 long (act1 and gate are in it): 0.0278 / sqrt 5 = 0.0124;
    # over conv_expand, gate, conv_pw: 0.0208 / sqrt 3 = 0.0120. Both are less than 0.0139, so
    # the squeeze-excite convs keep their initialization. (Without the parameter-free leaves
    # the first run would be 3 long, 0.0278 / sqrt 3 = 0.016, and would win.)
    assert block_named(network('efficientnet_b0'), 'blocks.0.0') == [
        'blocks.0.0.conv_dw', 'blocks.0.0.bn1', 'blocks.0.0.aa', 'blocks.0.0.se.conv_reduce',
        'blocks.0.0.se.act1', 'blocks.0.0.se.conv_expand', 'blocks.0.0.se.gate',
        'blocks.0.0.conv_pw', 'blocks.0.0.bn2', 'blocks.0.0.drop_path']
    match = matching('resnet18', 'efficientnet_b0')
    assert match['blocks.0.0.conv_dw'] == 'layer1.0.conv1'
    assert match['blocks.0.0.bn1'] == 'layer1.0.bn1'
    assert match['blocks.0.0.conv_pw'] == 'layer1.0.conv2'
    assert match['blocks.0.0.bn2'] == 'layer1.0.bn2'
    assert 'blocks.0.0.se.conv_reduce' not in match
    assert 'blocks.0.0.se.conv_expand' not in match


# ----------------------------------------------------------------------------- tie rules, small

def test_tie_between_skipping_a_source_and_a_target_item_skips_the_source():
    # Target (conv, linear), source (linear, conv) with the same shapes: order allows one of
    # the two exact pairs, 1 either way. The authors' DP prefers dropping the source's last
    # item (its conv) over the target's last item (its linear), so the linear is the one fed.
    target = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(8, 4))
    source = nn.Sequential(nn.Linear(8, 4), nn.Conv2d(3, 8, 3))
    plan = DPIAT().match(Network(source), Network(target))
    assert {t: s[0][0] for t, s in plan.sources.items()} == {'1': '0'}


def test_equal_sources_feed_the_target_from_the_first():
    # Two source convs of the target's shape: taking the second scores 1, as does the first;
    # a run replaces the first only if strictly better, so the first is kept.
    target = nn.Sequential(nn.Conv2d(8, 8, 3))
    source = nn.Sequential(nn.Conv2d(8, 8, 3), nn.Conv2d(8, 8, 3))
    plan = DPIAT().match(Network(source), Network(target))
    assert plan.sources == {'0': [('0', 1.0)]}


def test_only_parameter_free_single_items_at_the_top_level():
    # A block of two convs and a ReLU: the top-level single items are all parameter-free, the
    # block is copied whole.
    def make():
        return nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3)), nn.ReLU())
    assert transfer_weights(make(), make(), 'dpiat').coverage == 1.0


# ----------------------------------------------------------------------------- similarity

def test_directed_similarity():
    # Every resnet18 layer has an exact-shape counterpart in resnet34, in order (stem, then per
    # stage the first blocks), so resnet34 -> resnet18 scores 1 per target layer: 1.0. The
    # other way round 8 source blocks must fill 16, runs are penalized by sqrt(length): < 1.
    r18, r34 = network('resnet18').model, network('resnet34').model
    down, up = similarity(r34, r18, directed=True), similarity(r18, r34, directed=True)
    assert down == 1.0 and up < 1.0
    # the default is the geometric mean of both directions, the same either way round
    assert similarity(r18, r34) == pytest.approx((down * up) ** 0.5)
    assert similarity(r18, r34) == pytest.approx(similarity(r34, r18))


def test_self_match_scores_the_number_of_layers():
    # The authors normalize by the target's DP score against itself; each unit scores 1 against
    # itself, parameter-free leaves 0, so that is the number of units (what directed_score uses).
    for name in ('mixnet_m', 'resnet50'):
        fp = fingerprint_of(network(name))
        assert align(fp, fp)[0] == fp.num_layers == len(network(name).units)
