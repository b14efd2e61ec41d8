"""One run per work dir: a second run that would write the same files is refused at once.

An advisory ``fcntl.flock`` on ``<work_dir>/.lock``: the kernel drops it when the holder exits,
however it exits (kill -9 included), so a stale lock never blocks a ``--resume``. The file holds
the holder's pid for the error message.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


class WorkDirBusyError(FileExistsError):
    """Another live process holds the work dir."""


class WorkDirLock:
    """``with WorkDirLock(work_dir):`` — exclusive use of ``work_dir`` (created if missing)."""

    def __init__(self, work_dir):
        self.path = Path(work_dir) / '.lock'
        self._fd = None

    def acquire(self) -> 'WorkDirLock':
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors='replace').strip() or 'unknown'
            os.close(fd)
            raise WorkDirBusyError(f'{self.path.parent} is in use by another run (pid '
                                   f'{holder}); wait for it, or use another work dir') from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays for the next run
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
