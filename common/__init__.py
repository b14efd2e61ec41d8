"""What every layer of archtransfer stands on, in plain PyTorch: BatchNorm statistics
(:mod:`common.batchnorm`) and checkpoint files (:mod:`common.checkpoint`).

It imports nothing else of the project, so ``supernet`` and ``transfer`` — which must not import
each other — share these helpers without a cycle. One implementation of each concept lives here:
BatchNorm recalibration and its cross-rank average, the allow-listed checkpoint loader, the
atomic file writer, and the rank a job launcher gave this process (:mod:`common.launcher`).
"""
