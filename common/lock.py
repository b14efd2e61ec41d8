"""One run per work dir: a second run that would write the same files is refused at once.

Two locks, the second only where the first cannot reach every node:

* an advisory ``fcntl.flock`` on ``<work_dir>/.lock``: the kernel drops it when the holder exits,
  however it exits (kill -9 included), so a stale lock never blocks a ``--resume``. The file
  holds the holder's host and pid for the error message. On a local disk, on NFS (the client
  turns ``flock`` into a lock the server keeps) and on Lustre mounted ``flock`` it covers every
  process that opens the file.
* a lock *file*, ``<work_dir>/.lock.held``, created with ``O_CREAT | O_EXCL`` (atomic on NFSv3+
  and Lustre) and removed on release: filelock's ``SoftFileLock`` idea. Taken where ``flock``
  fails (Lustre mounted ``noflock`` answers ENOSYS) and where it only locks this node (Lustre
  ``localflock``, NFS ``local_lock=flock|all`` or ``nolock``, read from ``/proc/mounts``), so two
  jobs whose rank 0 runs on different nodes never share a work dir; or always, with
  ``ARCHTRANSFER_LOCK=file`` (for filesystems whose ``flock`` is node-local without saying so
  in its mount options). A killed holder leaves the file behind: on the same host a holder
  that no longer runs is detected and its file taken over; a file from another host is refused,
  naming host and pid, until it is removed by hand.
"""
from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path

# flock not available on this filesystem (Lustre noflock: ENOSYS; others: ENOLCK, EOPNOTSUPP)
_NO_FLOCK = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL}
LOCK_MODES = ('auto', 'file')


class WorkDirBusyError(FileExistsError):
    """Another live process holds the work dir."""


def holder_identity() -> str:
    """``host pid`` of this process: what a refused run is told."""
    return f'{socket.gethostname()} {os.getpid()}'


def node_local_flock(path, mounts: str | None = None) -> str | None:
    """Why ``flock`` on ``path`` would lock this node only (the mount's type and option), or
    ``None``. ``mounts``: the text of ``/proc/mounts`` (read when not given; ``None`` where it
    cannot be read)."""
    if mounts is None:
        try:
            mounts = Path('/proc/mounts').read_text()
        except OSError:
            return None
    path = os.path.realpath(path)
    best = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point = fields[1].replace('\\040', ' ')
        inside = path == point or path.startswith(point.rstrip('/') + '/')
        if inside and (best is None or len(point) > len(best[0])):
            best = point, fields[2], fields[3].split(',')
    if best is None:
        return None
    point, fstype, options = best
    if fstype == 'lustre' and 'localflock' in options:
        return f'{point} is Lustre mounted localflock'
    if fstype.startswith('nfs'):
        for option in ('local_lock=flock', 'local_lock=all', 'nolock'):
            if option in options:
                return f'{point} is NFS mounted {option}'
    return None


class WorkDirLock:
    """``with WorkDirLock(work_dir):`` — exclusive use of ``work_dir`` (created if missing).

    ``mode``: ``'auto'`` (the module doc) or ``'file'`` (the lock file too, always); default
    ``ARCHTRANSFER_LOCK``, else ``'auto'``.
    """

    def __init__(self, work_dir, mode: str | None = None):
        self.path = Path(work_dir) / '.lock'
        self.file_path = Path(work_dir) / '.lock.held'
        self.mode = mode or os.environ.get('ARCHTRANSFER_LOCK') or 'auto'
        if self.mode not in LOCK_MODES:
            raise ValueError(f'ARCHTRANSFER_LOCK={self.mode!r}: allowed {", ".join(LOCK_MODES)}')
        self._fd = None
        self._holds_file = False

    def acquire(self) -> 'WorkDirLock':
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 256).decode(errors='replace').strip()
            os.close(fd)
            raise self._busy(holder) from None
        except OSError as err:
            os.close(fd)
            if err.errno not in _NO_FLOCK:
                raise
            fd = None  # no flock here (Lustre noflock): the lock file alone
        if fd is not None:
            os.ftruncate(fd, 0)
            os.write(fd, holder_identity().encode())
            self._fd = fd
        if fd is None or self.mode == 'file' or node_local_flock(self.path.parent):
            try:
                self._acquire_file()
            except BaseException:
                self.release()
                raise
        return self

    def _acquire_file(self):
        """The ``O_EXCL`` lock file; one taken over when its holder ran here and is gone."""
        for _ in range(2):
            try:
                fd = os.open(self.file_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read(self.file_path)
                if not _gone(holder):
                    raise self._busy(holder, self.file_path) from None
                try:  # its holder ran on this host and no longer runs: a stale file
                    self.file_path.unlink()
                except FileNotFoundError:
                    pass
                continue
            try:
                os.write(fd, holder_identity().encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            self._holds_file = True
            return
        raise self._busy(_read(self.file_path), self.file_path)

    def _busy(self, holder: str, lock_file: Path | None = None) -> WorkDirBusyError:
        host, _, pid = holder.rpartition(' ')
        who = f'pid {pid or "unknown"} on host {host}' if host else f'pid {pid or "unknown"}'
        message = f'{self.path.parent} is in use by another run ({who})'
        if lock_file is not None and host and host != socket.gethostname():
            message += (f'; if no such run is alive there, remove {lock_file} (a killed run '
                        'leaves it on filesystems without a cluster-wide flock)')
        return WorkDirBusyError(message + '; wait for it, or use another work dir')

    def release(self):
        if self._holds_file:
            try:
                self.file_path.unlink()
            except FileNotFoundError:
                pass
            self._holds_file = False
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays for the next run
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors='replace').strip()
    except FileNotFoundError:
        return ''


def _gone(holder: str) -> bool:
    """Whether ``holder`` (``host pid``) ran on this host and no longer runs. An empty file (its
    writer stopped between creating and writing it) is not taken over: it may be a live run
    that has not written yet."""
    host, _, pid = holder.rpartition(' ')
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
