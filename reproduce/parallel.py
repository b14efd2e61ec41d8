"""The report's second process: work that needs nothing the main process is still computing
(the transfer section; the last target seed's searches once the super-network exists) runs
beside it, on the machine's second core.

The report trains and scores on one torch thread per process (intra-op threads competing for
shared cores slow it down; docs/report.md), so a second process is how the second core earns its
keep.
``concurrent.futures`` rather than ``multiprocessing.Pool``: a worker that dies (out of memory,
a signal) raises ``BrokenProcessPool`` in the main process instead of leaving it waiting.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path


class Beside:
    """Jobs run one after another in a second process, or, with ``processes=1``, in this one
    when their result is asked for. Use as a context manager: leaving it by an exception stops
    the second process at once rather than waiting for its job.

    Args:
        processes: 2 to use a second process, 1 to run every job here.
        log: where the second process's output (its progress bars) goes; the main process's
            bars would be garbled by a second writer.
    """

    def __init__(self, processes: int = 2, log: Path | str | None = None):
        if processes not in (1, 2):
            raise ValueError(f'processes={processes}: use 1 (everything in this process) or 2')
        self.log = None if processes == 1 else Path(log)
        self._executor = None
        if processes == 2:
            self._executor = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context('spawn'), initializer=_quiet,
                initargs=(str(self.log),))
        self._jobs: dict = {}

    def submit(self, key, function, *args):
        """Queue ``function(*args)`` (a module-level function: it is pickled by name)."""
        if key in self._jobs:
            raise KeyError(f'job {key!r} was already submitted')
        if self._executor is None:
            self._jobs[key] = (function, args)
        else:
            self._jobs[key] = self._executor.submit(_timed, function, *args)

    @property
    def parallel(self) -> bool:
        """Whether jobs run in a second process."""
        return self._executor is not None

    def __contains__(self, key) -> bool:
        return key in self._jobs

    def result(self, key):
        """``(value, seconds)``: what the job returned and how long it ran (not how long this
        call waited); a job's exception is raised here."""
        job = self._jobs.pop(key)
        if isinstance(job, Future):
            return job.result()
        function, args = job
        return _timed(function, *args)

    def __enter__(self) -> 'Beside':
        return self

    def __exit__(self, kind, error, traceback):
        if self._executor is None:
            return
        if error is None:
            self._executor.shutdown(wait=True)
            return
        # No public way to stop a running job before Python 3.14's terminate_workers(): a
        # stopped report (Ctrl-C, an error) must not leave a process training for 20 minutes.
        # (Taken before shutdown(), which forgets them.)
        processes = list((getattr(self._executor, '_processes', None) or {}).values())
        for process in processes:
            process.terminate()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, round(time.perf_counter() - start, 1)


def _quiet(log: str):
    """The second process's setup: it ends with the main process, its output is appended to
    ``log``, one torch thread, and mmengine's deprecation notes silenced as in tools/report.py."""
    import torch
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    stream = open(log, 'a', buffering=1)  # noqa: SIM115 (open for the process's lifetime)
    for fd in (1, 2):
        os.dup2(stream.fileno(), fd)
    sys.stdout = sys.stderr = stream
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')


def _exit_with(parent: int, every: float = 1.0):
    """End this process once ``parent`` is gone: a main process killed outright (SIGTERM,
    SIGKILL) runs no cleanup, and the second process would train on alone for minutes."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)
