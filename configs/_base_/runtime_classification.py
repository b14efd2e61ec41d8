# Every classification config: mmpretrain's runtime, the project's registry, and the runner whose
# checkpoints load without unpickling arbitrary objects and are written atomically.
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['engine.registry'], allow_failed_imports=False)
runner_type = 'SafeCheckpointRunner'
# Inputs of one size (ImageNet's 224 px crops, CUB's 448): cuDNN times its algorithms once per
# layer shape and keeps the fastest. Detection leaves it off: its image sizes vary.
env_cfg = dict(cudnn_benchmark=True)
