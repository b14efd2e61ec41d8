"""Tensor adaptation ops, checked on values."""
import pytest
import torch
import torch.nn.functional as F

from transfer.ops import center_crop, combo, cyclic_stack, interpolate_kernel, resize


def test_center_crop_takes_the_sources_centre():
    src = torch.randn(8, 4, 5, 5)
    out, covered = center_crop(src, torch.zeros(6, 4, 3, 3))
    assert torch.equal(out, src[1:7, :, 1:4, 1:4])
    assert covered == 1.0


def test_center_crop_puts_a_small_source_in_the_targets_centre():
    src, dst = torch.randn(4, 2, 3, 3), torch.randn(8, 2, 5, 5)
    out, covered = center_crop(src, dst)
    assert torch.equal(out[2:6, :, 1:4, 1:4], src)
    untouched = torch.ones_like(dst, dtype=torch.bool)
    untouched[2:6, :, 1:4, 1:4] = False
    assert torch.equal(out[untouched], dst[untouched])   # the target keeps its own values
    assert covered == pytest.approx(4 / 8 * 9 / 25)
    assert not torch.equal(dst, out)                     # and dst itself was not modified


def test_cyclic_stack_repeats_channels_in_order():
    src = torch.randn(64, 32, 3, 3)
    out = cyclic_stack(src, (96, 48, 3, 3))
    assert torch.equal(out[:64, :32], src)
    assert torch.equal(out[64:, :32], src[:32])          # out channel j <- j mod 64
    assert torch.equal(out[:64, 32:], src[:, :16])       # in channel i <- i mod 32
    assert torch.equal(out[64:, 32:], src[:32, :16])
    assert torch.equal(cyclic_stack(torch.arange(5.), (3,)), torch.arange(3.))  # shrink: first


def test_kernel_interpolation_3x3_to_5x5():
    src = torch.randn(4, 2, 3, 3)
    out = interpolate_kernel(src, (5, 5))
    assert out.shape == (4, 2, 5, 5)
    # cell-centre sampling maps the 5x5 centre onto the 3x3 centre; taps scale by 9/25
    torch.testing.assert_close(out[..., 2, 2], src[..., 1, 1] * 9 / 25)
    flat = torch.ones(1, 1, 3, 3)
    torch.testing.assert_close(interpolate_kernel(flat, (5, 5)).sum(), flat.sum())
    assert torch.equal(interpolate_kernel(src, (3, 3)), src)


def test_resize_is_linear_and_exact_on_equal_shapes():
    torch.testing.assert_close(resize(torch.tensor([0., 2.]), (3,)), torch.tensor([0., 1., 2.]))
    assert resize(torch.tensor([1., 5., 9.]), (1,)).item() == 5.0   # shrink to the middle
    src = torch.randn(3, 4)
    assert torch.equal(resize(src, (3, 4)), src)
    image = torch.randn(4, 6)  # one axis at a time equals 2-D bilinear interpolation
    expected = F.interpolate(image[None, None], size=(7, 11), mode='bilinear', align_corners=False)
    torch.testing.assert_close(resize(image, (7, 11)), expected[0, 0])


def test_combo_mixes_crop_and_resize():
    src, dst = torch.randn(6, 3, 5, 5), torch.randn(4, 3, 3, 3)
    crop, _ = center_crop(src, dst)
    torch.testing.assert_close(combo(src, dst), 0.75 * crop + 0.25 * resize(src, dst.shape))
    torch.testing.assert_close(combo(src, dst, lam=1.0), crop)
    torch.testing.assert_close(combo(src, dst, lam=0.0), resize(src, dst.shape))
    same = torch.randn(4, 3, 3, 3)
    assert torch.equal(combo(same, dst), same)           # equal shapes: an exact copy


def test_rank_mismatch_is_an_error():
    with pytest.raises(ValueError, match='2-D'):
        cyclic_stack(torch.randn(3), (3, 3))
    with pytest.raises(ValueError):
        center_crop(torch.randn(3, 3), torch.randn(3))
