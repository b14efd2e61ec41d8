"""Every transfer method on small real pairs, checked on values (one parametrized test per
property, over every method)."""
import pytest
import timm
import torch

import transfer
from transfer import transfer_weights
from transfer.ops import center_crop, combo, cyclic_stack, interpolate_kernel
from transfer_nets import PlainNet5, ResNet8, TokenNet, outputs, randomize, snapshot, vgg11

METHODS = sorted(transfer.METHODS)
IMAGES = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def assert_same_outputs(a, b, *inputs):
    a.eval(), b.eval()
    with torch.no_grad():
        for x, y in zip(outputs(a(*inputs)), outputs(b(*inputs))):
            assert torch.equal(x, y)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('make, inputs', [
    (vgg11, (IMAGES,)),
    (TokenNet, (torch.randint(0, 20, (2, 8), generator=torch.Generator().manual_seed(0)),)),
], ids=['vgg11', 'tokens'])
def test_identical_pair_transfers_exactly(method, make, inputs):
    # TokenNet: Embedding, bare Parameter, LayerNorm, Linear, GroupNorm, dict output.
    src, dst = randomize(make(), 0), randomize(make(), 1)
    report = transfer_weights(src, dst, method)
    assert report.coverage == 1.0 and report.element_coverage == 1.0
    assert report.ops == {'copy': len(src.state_dict())}
    assert all(r.source == r.target for r in report.records)
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value), key
    assert_same_outputs(src, dst, *inputs)


@pytest.mark.parametrize('method', METHODS)
def test_identical_resnet_pair(method):
    src, dst = randomize(ResNet8(), 0), randomize(ResNet8(), 1)
    report = transfer_weights(src, dst, method)
    for record in report.records:
        if record.status == 'transferred':
            assert record.source == record.target and record.op == 'copy'
    if method == 'hmt':  # the paper transfers the longest chain only: shortcuts are off it
        untouched = set(report.untouched)
        assert untouched == {k for k in dst.state_dict() if '.shortcut.' in k}
        assert report['blocks.1.shortcut.0.weight'].reason == 'off the longest chain'
        assert 'not transferred' in report['blocks.1.shortcut.2.running_var'].reason
    else:
        assert report.coverage == 1.0
        assert_same_outputs(src, dst, IMAGES)


def expected(method, src, dst_before):
    """What each paper says a target tensor becomes (ops are tested on values separately)."""
    if method == 'dpiat':
        return center_crop(src, dst_before)[0]
    if method == 'tli':
        return combo(src, dst_before, 0.75)
    if src.dim() == 4 and src.shape[2:] != dst_before.shape[2:]:
        src = interpolate_kernel(src, dst_before.shape[2:])
    return cyclic_stack(src, dst_before.shape)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('src_kwargs, dst_kwargs', [
    (dict(widths=(64,) * 4), dict(widths=(96,) * 4)),   # 64 -> 96 channels
    (dict(kernel=3), dict(kernel=5)),                    # a 3x3 -> 5x5 kernel
], ids=['64to96', '3x3to5x5'])
def test_layer_to_layer_values(method, src_kwargs, dst_kwargs):
    src, dst = randomize(PlainNet5(**src_kwargs), 0), randomize(PlainNet5(**dst_kwargs), 1)
    before = snapshot(dst)
    report = transfer_weights(src, dst, method)
    assert report.coverage == 1.0
    source_state = src.state_dict()
    for key, value in dst.state_dict().items():
        assert report[key].source == key  # same layer by position, BN statistics included
        torch.testing.assert_close(value, expected(method, source_state[key], before[key]),
                                   rtol=0, atol=1e-6, msg=key)


def test_cyclic_stack_of_a_chain_and_its_batchnorm():
    src, dst = randomize(PlainNet5(widths=(64,) * 4), 0), PlainNet5(widths=(96,) * 4)
    transfer_weights(src, dst, 'hmt')
    w_src, w_dst = src.features[2][0].weight, dst.features[2][0].weight   # second conv
    assert torch.equal(w_dst[64:, 64:], w_src[:32, :32])
    bn_src, bn_dst = src.features[2][2], dst.features[2][2]
    assert torch.equal(bn_dst.running_var[64:], bn_src.running_var[:32])
    assert torch.equal(bn_dst.running_mean, bn_src.running_mean[torch.arange(96) % 64])


def test_center_crop_of_a_larger_source():
    src, dst = randomize(PlainNet5(widths=(96,) * 4, kernel=5), 0), PlainNet5(widths=(64,) * 4)
    transfer_weights(src, dst, 'dpiat')
    assert torch.equal(dst.features[4][0].weight, src.features[4][0].weight[16:80, 16:80, 1:4, 1:4])
    assert torch.equal(dst.features[4][2].running_mean, src.features[4][2].running_mean[16:80])


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('pair', ['vgg11->plainnet5', 'resnet18->resnet8'])
def test_hmt_paper_pairs(method, pair):
    """HMT Table 2's pairs: every target tensor reports where it came from, and recomputing
    it from that source gives the target's value."""
    src = vgg11() if pair.startswith('vgg') else timm.create_model('resnet18', num_classes=10)
    src = randomize(src)
    dst = randomize(PlainNet5() if pair.endswith('5') else ResNet8(), 1)
    before = snapshot(dst)
    report = transfer_weights(src, dst, method)
    # DPIAT's DP prefers exact-shape copies over keeping every layer: VGG's 2nd BN feeds
    # PlainNet's 2nd BN, so PlainNet's first BN and 2nd conv stay as they were.
    assert report.coverage >= {'hmt': 0.6, 'dpiat': 0.7, 'tli': 0.9}[method]
    source_state, state = src.state_dict(), dst.state_dict()
    for r in report.records:
        if r.status == 'transferred' and r.target.endswith('weight'):
            torch.testing.assert_close(state[r.target], expected(method, source_state[r.source],
                                                                 before[r.target]), msg=r.target)
    assert outputs(dst.eval()(IMAGES))[0].shape == (2, 10)


def test_hmt_chain_order_vgg_to_plainnet():
    src, dst = randomize(vgg11()), PlainNet5()
    report = transfer_weights(src, dst, 'hmt')
    # l-th conv of the target chain from the l-th conv of VGG-11's chain, l <= 4
    convs = [k for k in src.state_dict() if k.endswith('weight') and src.state_dict()[k].dim() == 4]
    for layer, target_conv in enumerate(['features.0.0', 'features.2.0', 'features.4.0',
                                         'features.6.0']):
        assert report[f'{target_conv}.weight'].source == convs[layer]
    assert report['head.2.weight'].source == '3.weight'   # linear from linear
    assert torch.equal(dst.head[2].weight, src[3].weight[:, :256])


def test_tli_top_k_mixes_with_softmax_weights():
    src, dst = randomize(ResNet8(), 0), randomize(ResNet8(widths=(24, 48, 96)), 1)
    before = snapshot(dst)
    report = transfer_weights(src, dst, 'tli', top_k=3)
    mixed = [r for r in report.records
             if len(r.sources) > 1 and not r.target.endswith('num_batches_tracked')]
    assert mixed
    source_state = src.state_dict()
    for r in mixed:
        assert r.op == 'combo' and sum(w for _, w in r.sources) == pytest.approx(1)
        weights = [w for _, w in r.sources]
        assert weights == sorted(weights, reverse=True)
        value = sum(w * combo(source_state[k], before[r.target]) for k, w in r.sources)
        torch.testing.assert_close(dst.state_dict()[r.target], value)


def test_tli_without_batchnorm_leaves_it_alone():
    src, dst = randomize(PlainNet5(), 0), randomize(PlainNet5(widths=(48,) * 4), 1)
    before = snapshot(dst)
    report = transfer_weights(src, dst, 'tli', bn=False)
    bn_keys = [k for k in before if k.startswith('features.') and k.split('.')[2] == '2']
    assert bn_keys and set(bn_keys) == set(report.skipped)
    assert all(torch.equal(dst.state_dict()[k], before[k]) for k in bn_keys)
    assert report['features.0.0.weight'].status == 'transferred'
