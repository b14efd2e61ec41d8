"""The transfer experiments' small pieces (``analysis.smallnets``): the tops target's data, the
pretrained reference's init and the share of the pretraining gain."""
import math

import pytest
import torch

from analysis.smallnets import (
    TARGET_NETS,
    Classifier,
    load_transfer_data,
    share_of_gain,
    with_pretrained_backbone,
)
from archdata import SPLIT_SOURCE_CLASSES, TOPS_CLASSES, load_fashion_mnist


def unstandardise(train: torch.Tensor):
    """The map back from standardised (N, 3, 28, 28) tensors to each image's uint8 bytes, for
    tensors standardised with the statistics of ``train``'s raw images: among those, the darkest
    pixel is 0 and the brightest 255 (Fashion-MNIST's range), which fixes the affine map."""
    low, high = train.min(), train.max()

    def raw_images(x: torch.Tensor) -> list:
        pixels = ((x[:, 0] - low) / (high - low)).mul(255).round().to(torch.uint8).numpy()
        return [image.tobytes() for image in pixels]
    return raw_images


def labels_by_image(split: str) -> dict:
    """Fashion-MNIST ``split``: image bytes -> the labels of the images with those bytes."""
    images, labels = load_fashion_mnist(split)
    found = {}
    for image, label in zip(images, labels):
        found.setdefault(image.tobytes(), set()).add(int(label))
    return found


def test_tops_target_is_the_class_split_with_disjoint_train_and_test():
    per_class, test_per_class = 3, 4
    data = load_transfer_data(source_train=40, target_train=5 * per_class,
                              target_test=5 * test_per_class, size=28, source_test=30,
                              seed=1, target='tops')
    assert (data.source_classes, data.target_classes) == (5, 5)
    assert data.target_x.shape == (5 * per_class, 3, 28, 28)
    assert torch.bincount(data.target_y, minlength=5).tolist() == [per_class] * 5
    assert torch.bincount(data.target_test_y, minlength=5).tolist() == [test_per_class] * 5
    assert len(data.source_x) == 40 and len(data.source_test_x) == 30
    assert set(data.source_y.tolist()) <= set(range(5))
    assert set(data.source_test_y.tolist()) <= set(range(5))

    # every image is a Fashion-MNIST image of the class its label names: tops in the target
    # (training images from the training split, test images from the test split), the other
    # five classes in the source
    train_labels, test_labels = labels_by_image('train'), labels_by_image('test')
    target_raw, source_raw = unstandardise(data.target_x), unstandardise(data.source_x)
    cases = [(target_raw(data.target_x), data.target_y, train_labels, TOPS_CLASSES),
             (target_raw(data.target_test_x), data.target_test_y, test_labels, TOPS_CLASSES),
             (source_raw(data.source_x), data.source_y, train_labels, SPLIT_SOURCE_CLASSES),
             (source_raw(data.source_test_x), data.source_test_y, test_labels,
              SPLIT_SOURCE_CLASSES)]
    for images, labels, fashion_labels, classes in cases:
        assert len(set(images)) == len(images)
        for image, label in zip(images, labels.tolist()):
            assert classes[label] in fashion_labels[image]
    assert not set(cases[0][0]) & set(cases[1][0])  # no training image is a test image


def test_tops_target_counts_must_split_evenly_over_the_classes():
    with pytest.raises(ValueError, match='multiple of 5'):
        load_transfer_data(10, 12, 10, size=8, target='tops')
    with pytest.raises(ValueError, match="allowed 'digits', 'tops'"):
        load_transfer_data(10, 10, 10, size=8, target='cifar')


def test_share_of_the_pretraining_gain():
    assert math.isclose(share_of_gain(0.70, random=0.60, pretrained=0.80), 0.5)
    assert math.isclose(share_of_gain(0.80, random=0.60, pretrained=0.80), 1.0)
    assert share_of_gain(0.55, random=0.60, pretrained=0.80) < 0  # worse than random init
    # no gain to share: None, not a division by zero nor a sign-flipped quotient
    assert share_of_gain(0.70, random=0.60, pretrained=0.60) is None
    assert share_of_gain(0.70, random=0.60, pretrained=0.50) is None


def test_pretrained_reference_has_the_pretrained_backbone_and_the_random_head():
    spec = TARGET_NETS['resnet10x3/8']
    torch.manual_seed(0)
    init = Classifier(*spec, num_classes=5)
    pretrained = Classifier(*spec, num_classes=7)  # the source's labels
    before = {k: v.clone() for k, v in init.state_dict().items()}
    model = with_pretrained_backbone(init, pretrained)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, pretrained.backbone.state_dict()[key]), key
    for key, value in model.head.state_dict().items():
        assert torch.equal(value, init.head.state_dict()[key]), key
    assert all(torch.equal(v, before[k]) for k, v in init.state_dict().items())  # a copy
