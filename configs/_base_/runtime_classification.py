# Every classification config: mmpretrain's runtime, the project's registry, and the runner whose
# checkpoints load without unpickling arbitrary objects and are written atomically.
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['supernet.registry'], allow_failed_imports=False)
runner_type = 'SafeCheckpointRunner'
