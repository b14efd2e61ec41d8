"""Checks that need a CUDA device (``pytest -m gpu``); deselected by default."""
import pytest
import torch

from supernet import build_backbone


@pytest.mark.gpu
def test_supernet_subnet_matches_its_static_backbone_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device')
    torch.manual_seed(0)
    supernet = build_backbone('resnet_bottleneck', out_indices=(3,)).cuda().eval()
    allocation = (1, 3, 7, 5)
    supernet.set_allocation(allocation)
    subnet = supernet.get_subnet(allocation).cuda().eval()
    x = torch.randn(2, 3, 64, 64, device='cuda')
    with torch.no_grad():
        torch.testing.assert_close(supernet(x)[-1], subnet(x)[-1], atol=1e-4, rtol=1e-4)
