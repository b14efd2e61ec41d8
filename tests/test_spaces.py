import numpy as np
import pytest

from supernet import AllocationError, get_space, list_spaces, parse_allocation

SPACES = ['resnet_bottleneck', 'resnet_basic', 'mobilenet_v2', 'mnasnet']


def test_registered_spaces_and_paper_depths():
    assert set(SPACES) <= set(list_spaces())
    assert get_space('resnet_bottleneck').max_depths == (8, 10, 36, 14)
    assert get_space('resnet_bottleneck').default_depths == (3, 4, 6, 3)
    for name in ('mobilenet_v2', 'mnasnet'):
        space = get_space(name)
        assert space.num_stages == 5
        assert [s.name for s in space.searched] == ['layer2', 'layer3', 'layer4', 'layer5', 'layer6']
    # The paper's searched subnets lie inside the spaces.
    get_space('resnet_bottleneck').validate((2, 5, 19, 7))
    get_space('mobilenet_v2').validate((2, 2, 2, 3, 5))
    get_space('mnasnet').validate((3, 3, 2, 3, 4))
    assert get_space('mnasnet').default_depths == (3, 3, 3, 2, 4)


@pytest.mark.parametrize('bad, message', [
    ((1, 3, 7), 'needs 4 stage depths (layer1, layer2, layer3, layer4), got 3'),
    ((1, 3, 7, 5, 1), 'needs 4 stage depths'),
    ((1, 0, 7, 5), 'stage 1 (layer2) has depth 0, allowed 1..10'),
    ((1, -2, 7, 5), 'stage 1 (layer2) has depth -2, allowed 1..10'),
    ((1, 3, 37, 5), 'stage 2 (layer3) has depth 37, allowed 1..36'),
    ((9, 3, 7, 5), 'stage 0 (layer1) has depth 9, allowed 1..8'),
    ((1, 3, 7.0, 5), "stage 2 (layer3) has depth 7.0, which is not an integer; allowed 1..36"),
    ((1, '3', 7, 5), "stage 1 (layer2) has depth '3', which is not an integer"),
    ((True, 3, 7, 5), 'stage 0 (layer1) has depth True, which is not an integer'),
    ('1,3,7,5', 'an allocation is a sequence of 4 ints'),
    (5, 'an allocation is a sequence of 4 ints'),
])
def test_validation_errors_name_stage_value_and_range(bad, message):
    with pytest.raises(AllocationError) as err:
        get_space('resnet_bottleneck').validate(bad)
    assert message in str(err.value)
    assert "space 'resnet_bottleneck'" in str(err.value)


def test_validation_of_mobile_space_names_its_stage():
    with pytest.raises(AllocationError, match=r'stage 4 \(layer6\) has depth 8, allowed 1..7'):
        get_space('mobilenet_v2').validate((1, 1, 1, 1, 8))


def test_validation_accepts_numpy_ints_and_deeper_when_asked():
    space = get_space('resnet_bottleneck')
    assert space.validate(np.array([1, 3, 7, 5])) == (1, 3, 7, 5)
    assert type(space.validate(np.array([1, 3, 7, 5]))[0]) is int
    assert space.validate((1, 3, 40, 5), allow_deeper=True) == (1, 3, 40, 5)
    with pytest.raises(AllocationError, match='depth 0, allowed 1..∞'):
        space.validate((1, 3, 0, 5), allow_deeper=True)


@pytest.mark.parametrize('name', SPACES)
def test_samples_stay_in_range_and_reach_both_ends(name):
    space = get_space(name)
    draws = np.array([space.sample(np.random.default_rng(i)) for i in range(400)])
    assert (draws.min(0) == 1).all() and (draws.max(0) == np.array(space.max_depths)).all()


def test_parse_allocation():
    assert parse_allocation('1,3,7,5') == (1, 3, 7, 5)
    assert parse_allocation('[2, 5, 19, 7]') == (2, 5, 19, 7)
    with pytest.raises(AllocationError, match='comma-separated integers'):
        parse_allocation('1,x,7')


def test_scaled_space_keeps_depths_and_scales_widths():
    space = get_space('resnet_bottleneck').scaled(0.25, name='tiny', small_input=True)
    assert space.max_depths == (8, 10, 36, 14)
    assert [s.channels for s in space.stages] == [16, 32, 64, 128]
    assert space.stem_channels == 16 and space.small_input


def test_unknown_space_lists_the_registered_ones():
    with pytest.raises(KeyError, match='resnet_bottleneck'):
        get_space('resnet_huge')
