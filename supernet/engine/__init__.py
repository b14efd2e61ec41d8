"""mmengine adapters: depth sampling hook, multi-allocation validation, safe checkpoints.

Importing ``supernet.registry`` registers them (mmengine's root HOOKS / LOOPS / RUNNERS), so
configs name them after ``custom_imports = dict(imports=['supernet.registry'])``.
"""
from .checkpoint import plain_message_hub, restore_message_hub
from .hooks import DepthSamplingHook, find_supernet, sample_allocation, supernet_meta
from .loops import AllocationValLoop
from .progress import TqdmHook, progress
from .runner import SafeCheckpointRunner

__all__ = ['AllocationValLoop', 'SafeCheckpointRunner', 'DepthSamplingHook', 'find_supernet',
           'TqdmHook', 'plain_message_hub', 'progress', 'restore_message_hub', 'sample_allocation',
           'supernet_meta']
