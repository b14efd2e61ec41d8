"""Who this process is in a distributed job, before any process group exists.

mmengine's Runner creates the process group, and under Slurm or Open MPI it also sets ``RANK``
only then; code that must act on one rank before that (take the work-dir lock, write files) asks
the launcher's own variables instead.

    >>> launcher_rank({'SLURM_PROCID': '3', 'SLURM_NTASKS': '8'})
    3
    >>> launcher_rank({})
    0
"""
from __future__ import annotations

import os
from typing import Mapping

# In order of precedence: torchrun (and mmengine, once it has initialised Slurm / MPI), Slurm's
# srun, Open MPI's mpirun.
RANK_VARIABLES = ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK')
WORLD_SIZE_VARIABLES = ('WORLD_SIZE', 'SLURM_NTASKS', 'OMPI_COMM_WORLD_SIZE')


def launcher_rank(environ: Mapping[str, str] | None = None) -> int:
    """The global rank the job launcher gave this process (``RANK``, else ``SLURM_PROCID``,
    else ``OMPI_COMM_WORLD_RANK``); 0 for a process started alone."""
    return _launcher_value(RANK_VARIABLES, 0, 'the rank the job launcher gave this process',
                           environ)


def launcher_world_size(environ: Mapping[str, str] | None = None) -> int:
    """The number of processes the job launcher started (``WORLD_SIZE``, else ``SLURM_NTASKS``,
    else ``OMPI_COMM_WORLD_SIZE``); 1 for a process started alone. Settings that depend on it
    are checked with it before any work.

    >>> launcher_world_size({'SLURM_NTASKS': '8'})
    8
    """
    return _launcher_value(WORLD_SIZE_VARIABLES, 1, 'the number of processes launched',
                           environ)


def _launcher_value(names, default: int, what: str, environ) -> int:
    environ = os.environ if environ is None else environ
    for name in names:
        value = environ.get(name, '').strip()
        if value:
            if not value.isdigit():
                raise ValueError(f'{name}={value!r}: allowed a non-negative integer ({what})')
            return int(value)
    return default
