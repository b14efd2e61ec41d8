"""mmengine adapters: depth sampling hook, multi-allocation validation, safe checkpoints.

Importing ``supernet`` registers them (mmengine's root HOOKS / LOOPS / RUNNERS), so configs name
them after ``custom_imports = dict(imports=['supernet'])``.
"""
from .checkpoint import (UnsafeCheckpointError, atomic_save, atomic_write_text,
                         load_checkpoint_safely)
from .hooks import DepthSamplingHook, find_supernet, sample_allocation, supernet_meta
from .loops import AllocationValLoop
from .runner import SafeCheckpointRunner

__all__ = ['AllocationValLoop', 'SafeCheckpointRunner', 'DepthSamplingHook',
           'UnsafeCheckpointError', 'atomic_save', 'atomic_write_text', 'find_supernet',
           'load_checkpoint_safely', 'sample_allocation', 'supernet_meta']
