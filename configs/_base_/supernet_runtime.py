# Super-network training on a classification source with mmpretrain + mmengine (paper 004,
# Sec. 3.2): an ImageClassifier around a super-network backbone; DepthSamplingHook draws
# S_i ~ U[1, N_i] per stage every iteration from (seed, iteration), the same on every rank.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['supernet'], allow_failed_imports=False)
runner_type = 'SafeCheckpointRunner'  # weights_only-loadable checkpoints, atomic writes

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNetSuperNet', space='resnet_bottleneck', out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))

custom_hooks = [dict(type='DepthSamplingHook')]
# Validate the deepest and the shallowest child ('max/accuracy/top1', 'min/accuracy/top1'), each
# with BatchNorm statistics re-estimated on 20 training batches (the shared running statistics
# mix all sampled depths and misjudge shallow children).
val_cfg = dict(type='AllocationValLoop', allocations=['max', 'min'], bn_recalibration_batches=20)

# Blocks past the sampled depth get no gradient in that iteration; DDP must expect that.
find_unused_parameters = True
