"""Super-network vs extracted subnet, for every space, at random allocations."""
import numpy as np
import pytest
import torch

from conftest import randomize_batchnorm
from supernet import SUPERNETS, build_backbone, extract_subnet, get_space

SPACES = ['resnet_bottleneck', 'resnet_basic', 'mobilenet_v2', 'mnasnet']


@pytest.fixture(scope='module', params=SPACES)
def supernet(request):
    torch.manual_seed(0)
    return randomize_batchnorm(build_backbone(request.param)).eval()


def test_supernet_is_built_at_max_depth(supernet):
    space = supernet.space
    assert type(supernet) is SUPERNETS[space.family]
    for stage in space.searched:
        assert len(getattr(supernet, stage.name)) == stage.max_depth
    assert supernet.allocation == space.max_depths


def test_subnet_equals_supernet_at_random_allocations(supernet, images):
    space = supernet.space
    rng = np.random.default_rng(123)
    allocations = {space.min_depths, space.max_depths}
    allocations |= {space.sample(rng) for _ in range(3)}
    state = supernet.state_dict()
    for allocation in sorted(allocations):
        supernet.set_allocation(allocation)
        with torch.no_grad():
            expected = supernet(images)
        subnet = build_backbone(space, allocation).eval()
        subnet_state = extract_subnet(state, allocation, space)
        assert list(subnet_state) == list(subnet.state_dict()), allocation  # same keys, same order
        subnet.load_state_dict(subnet_state, strict=True)
        with torch.no_grad():
            got = subnet(images)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def test_depth_changes_the_output(supernet, images):
    # Guards the equality test against a super-network that ignores its allocation.
    space = supernet.space
    with torch.no_grad():
        supernet.set_allocation(space.min_depths)
        shallow = supernet(images)[-1]
        supernet.set_allocation(space.max_depths)
        deep = supernet(images)[-1]
    assert shallow.shape == deep.shape
    assert not torch.allclose(shallow, deep, atol=1e-3)


def test_get_subnet_inherits_weights(supernet, images):
    allocation = supernet.space.sample(np.random.default_rng(7))
    supernet.set_allocation(allocation)
    subnet = supernet.get_subnet()
    assert type(subnet) is type(supernet).subnet_class
    assert subnet.stage_blocks == allocation and not subnet.training
    with torch.no_grad():
        torch.testing.assert_close(subnet(images)[-1], supernet(images)[-1], rtol=1e-5, atol=1e-5)


def test_sampling_draws_independent_depths_per_stage():
    supernet = build_backbone('resnet_basic')
    rng = np.random.default_rng(0)
    draws = [supernet.sample_allocation(rng) for _ in range(50)]
    assert supernet.allocation == draws[-1]
    assert len(set(draws)) > 20


def test_training_step_leaves_dropped_blocks_without_gradient():
    supernet = build_backbone('resnet_basic').train()
    supernet.set_allocation((1, 2, 3, 1))
    sum(o.mean() for o in supernet(torch.randn(2, 3, 32, 32))).backward()
    assert supernet.layer3[2].conv1.weight.grad is not None
    assert supernet.layer3[3].conv1.weight.grad is None
    assert supernet.layer4[0].conv1.weight.grad is not None


def test_extract_with_prefix_keeps_heads_and_reports_missing_blocks():
    space = get_space('resnet_basic')
    state = {f'backbone.{k}': v for k, v in build_backbone(space).state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 512)
    subnet = extract_subnet(state, (1, 1, 2, 1), space, prefix='backbone.')
    assert 'head.fc.weight' in subnet
    assert 'backbone.layer3.1.conv1.weight' in subnet
    assert 'backbone.layer3.2.conv1.weight' not in subnet
    with pytest.raises(KeyError, match='is the prefix right'):
        extract_subnet(state, (1, 1, 2, 1), space)  # forgot the prefix
    shallow = extract_subnet(state, (1, 1, 1, 1), space, prefix='backbone.')
    with pytest.raises(KeyError, match=r'backbone\.layer3\.1'):
        extract_subnet(shallow, (1, 1, 2, 1), space, prefix='backbone.')


def test_block_indices_are_not_confused_by_digit_prefixes():
    # layer3.1 must not swallow layer3.10+ in a 36-block stage.
    space = get_space('resnet_bottleneck')
    keys = {f'layer3.{i}.conv1.weight': torch.zeros(1) for i in range(36)}
    keys.update({f'layer{s}.0.conv1.weight': torch.zeros(1) for s in (1, 2, 4)})
    subnet = extract_subnet(keys, (1, 1, 11, 1), space)
    assert sorted(int(k.split('.')[1]) for k in subnet if k.startswith('layer3')) == list(range(11))


def test_forward_in_two_slices_equals_forward(supernet, images):
    # The search caches a prefix of stages and runs the rest per candidate.
    supernet.set_allocation(supernet.space.sample(np.random.default_rng(3)))
    with torch.no_grad():
        expected = supernet(images)
        for split in range(len(supernet.layer_names) + 1):
            x, first = supernet.forward_layers(supernet.forward_stem(images), 0, split)
            _, rest = supernet.forward_layers(x, split)
            outs = {**first, **rest}
            assert len(outs) == len(expected)
            assert all(torch.equal(outs[i], e) for i, e in zip(sorted(outs), expected))
