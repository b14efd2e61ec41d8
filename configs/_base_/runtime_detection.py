# Every detection config: mmdet's runtime, the project's registry, and the runner whose checkpoints
# load without unpickling arbitrary objects and are written atomically.
_base_ = ['mmdet::_base_/default_runtime.py']
custom_imports = dict(imports=['engine.registry'], allow_failed_imports=False)
runner_type = 'SafeCheckpointRunner'
