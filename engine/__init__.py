"""mmengine adapters: the layer that runs ``supernet``, ``search`` and ``initialize`` with
mmengine, mmpretrain and mmdet.

Imported here: the depth-sampling hook (:mod:`engine.hooks`), multi-allocation validation
(:mod:`engine.loops`), safe checkpoints (:mod:`engine.checkpoint`, :mod:`engine.runner`) and
progress bars (:mod:`engine.progress`). Importing ``engine.registry`` registers them (mmengine's
root HOOKS / LOOPS / RUNNERS) with the backbones and datasets, so configs name them after
``custom_imports = dict(imports=['engine.registry'])``. Imported separately: the CLI plumbing
(:mod:`engine.launch`), the search evaluators built from a runner (:mod:`engine.evaluators`,
:mod:`engine.detection`), the search pipeline (:mod:`engine.pipeline`), subnet training
(:mod:`engine.training`) and the demo (:mod:`engine.demo`).
"""
from .checkpoint import plain_message_hub, restore_message_hub
from .hooks import DepthSamplingHook, find_supernet, sample_allocation, supernet_meta
from .loops import AllocationValLoop
from .progress import TqdmHook, progress
from .runner import SafeCheckpointRunner

__all__ = ['AllocationValLoop', 'SafeCheckpointRunner', 'DepthSamplingHook', 'find_supernet',
           'TqdmHook', 'plain_message_hub', 'progress', 'restore_message_hub', 'sample_allocation',
           'supernet_meta']
