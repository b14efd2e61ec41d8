"""What training a super-network costs per image, measured on this machine (CPU) at 224 px:
FLOPs of the deepest, the shallowest and the average sampled subnet (relative to the standard
network), parameters, and the activation memory backward needs per image at the deepest
allocation — the numbers behind the README's ImageNet guidance.

    python benchmarks/supernet_cost.py                    # all three ImageNet spaces
    python benchmarks/supernet_cost.py --space resnet_bottleneck

FLOPs are counted by mmengine.analysis (multiply-accumulates, as papers report "FLOPs"). A subnet's
FLOPs are linear in its depths, so the mean over uniform sampling is the FLOPs at the mean depths
(N_i + 1) / 2, interpolated from one count per stage.
"""
import argparse
import logging

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.logging import MMLogger

from supernet import build_backbone, get_space


def flops(space, allocation, size):
    model = build_backbone(space, allocation).eval()
    info = get_model_complexity_info(model, input_shape=(3, size, size), show_table=False,
                                     show_arch=False)
    return info['flops'], info['params']


def saved_activation_bytes(model, images):
    """Bytes autograd keeps for backward (what grows with the batch on a GPU). A tensor saved by
    several ops (a ReLU's output is also the next conv's input) is counted once."""
    seen = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return tensor
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        outs = model(images)
    sum(o.float().mean() for o in outs).backward()
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(n for ptr, n in seen.items() if ptr not in parameters)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--space', nargs='+',
                        default=['resnet_bottleneck', 'mobilenet_v2', 'mnasnet'])
    parser.add_argument('--size', type=int, default=224)
    args = parser.parse_args()
    MMLogger.get_current_instance().setLevel(logging.ERROR)  # unsupported-op warnings

    for name in args.space:
        space = get_space(name)
        base, _ = flops(space, space.min_depths, args.size)
        per_block = []
        for i in range(space.num_stages):
            deeper = list(space.min_depths)
            deeper[i] = 2
            per_block.append(flops(space, deeper, args.size)[0] - base)
        mean_depths = [(m + 1) / 2 for m in space.max_depths]
        expected = base + sum(g * (d - 1) for g, d in zip(per_block, mean_depths))
        deepest, params = flops(space, space.max_depths, args.size)
        standard, _ = flops(space, space.default_depths, args.size)

        supernet = build_backbone(space).train()
        activations = saved_activation_bytes(supernet, torch.randn(2, 3, args.size, args.size)) / 2
        print(f'{name}: {params / 1e6:.1f} M parameters (all blocks), at {args.size} px')
        print(f'  GFLOPs  min {base / 1e9:.2f} | standard {space.default_depths} '
              f'{standard / 1e9:.2f} | max {deepest / 1e9:.2f} | mean sampled '
              f'{expected / 1e9:.2f} = {expected / standard:.2f} x standard')
        print(f'  per-block GFLOPs by stage: {[round(g / 1e9, 3) for g in per_block]}')
        print(f'  activations kept for backward at max depth: {activations / 2**20:.0f} MiB/image'
              f' -> {64 * activations / 2**30:.1f} GiB at 64 images/GPU, plus '
              f'{4 * params * 4 / 2**30:.1f} GiB weights+grads+momentum (fp32)')


if __name__ == '__main__':
    main()
