"""Devices of a run: the process-group backend and the mixed precision it asks for, checked before
any work.

Pure Python and torch (the tools check their input before importing the engines).
"""
from __future__ import annotations

import argparse

import torch

DIST_BACKENDS = ('nccl', 'gloo')
AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}  # --amp's value -> AmpOptimWrapper dtype


def add_dist_backend_argument(parser: argparse.ArgumentParser):
    parser.add_argument('--dist-backend', choices=DIST_BACKENDS,
                        help="env_cfg.dist_cfg.backend (the config's default: nccl); gloo runs "
                        'distributed processes on CPU, an explicit choice where no GPU is')


def set_dist_backend(cfg, backend: str | None):
    """Write ``--dist-backend`` into the config (``env_cfg.dist_cfg.backend``)."""
    if backend is not None:
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = backend


def check_distributed_device(cfg, launcher: str):
    """A distributed run without CUDA is refused in one line unless gloo was chosen.

    A silent switch to CPU processes would turn a GPU job whose driver is too old for the wheel
    into CPU processes that say so in one log line; CPU processes are a choice instead
    (docs/install.md, "Distributed runs").
    """
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'nccl')
    if backend not in DIST_BACKENDS:
        raise ValueError(f'env_cfg.dist_cfg.backend={backend!r}: allowed {DIST_BACKENDS}')
    if backend == 'gloo' or torch.cuda.is_available():
        return
    build = (f'torch {torch.__version__} is a CPU-only build' if torch.version.cuda is None
             else f'torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable GPU: '
             'check nvidia-smi and that the driver supports this CUDA version')
    raise ValueError(f'--launcher {launcher} with the {backend} backend needs CUDA, and {build}; '
                     'for distributed processes on CPU choose gloo: --dist-backend gloo '
                     "(env_cfg.dist_cfg.backend='gloo')")

