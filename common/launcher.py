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


def launcher_rank(environ: Mapping[str, str] | None = None) -> int:
    """The global rank the job launcher gave this process (``RANK``, else ``SLURM_PROCID``,
    else ``OMPI_COMM_WORLD_RANK``); 0 for a process started alone."""
    environ = os.environ if environ is None else environ
    for name in RANK_VARIABLES:
        value = environ.get(name, '').strip()
        if value:
            if not value.isdigit():
                raise ValueError(f'{name}={value!r}: allowed a non-negative integer (the rank '
                                 'the job launcher gave this process)')
            return int(value)
    return 0
