"""Checkpoint files: an allow-listed loader that names what is wrong with a bad file, a state-dict
reader for every format the tools accept, and atomic writes.

torch ≥ 2.6 loads with ``weights_only=True``, which refuses pickled objects outside an allow-list;
mmengine checkpoints hold numpy arrays and scalars (in ``meta`` and the message hub), so the loader
adds exactly those (:data:`SAFE_GLOBALS`). A file holding anything else is refused before any of
its code can run. Never load user files with ``weights_only=False``.
"""
from __future__ import annotations

import os
import pickle
import re
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

FILE_MODE = 0o644  # what torch.save / open() give under the usual umask; mkstemp gives 0600


def _numpy_globals() -> list:
    """What pickled numpy arrays and scalars reference (module paths differ across numpy 1/2)."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_classes = {type(np.dtype(t)) for t in np.typecodes['All'] if t not in 'OMmV'}
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtype_classes]


SAFE_GLOBALS = _numpy_globals()


class CheckpointError(ValueError):
    """A file is not a readable checkpoint; the message says which way, in one line."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allow-list; it was not unpickled."""


_PICKLE_PROTOCOL_2 = b'\x80\x02'  # torch's legacy (pre-zip) format starts with a pickle


def _check_container(filename: str):
    """Refuse what cannot be a torch checkpoint before torch.load's own, cryptic errors."""
    size = os.path.getsize(filename)
    if size == 0:
        raise CheckpointError(f'{filename}: the file is empty, not a checkpoint')
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head[:2] == b'PK':
        if not zipfile.is_zipfile(filename):
            raise CheckpointError(f'{filename}: truncated or corrupted checkpoint (a torch zip '
                                  f'archive without its central directory, {size} bytes)')
    elif head[:2] != _PICKLE_PROTOCOL_2:
        raise CheckpointError(f'{filename}: not a checkpoint (neither a torch zip archive nor a '
                              f'legacy torch file; it starts with {head!r})')


def load_checkpoint_safely(filename, map_location=None) -> dict:
    """``torch.load(weights_only=True)`` with :data:`SAFE_GLOBALS`, and one-line errors:
    :class:`FileNotFoundError`, :class:`CheckpointError` (empty, not a checkpoint, truncated) or
    :class:`UnsafeCheckpointError` (names the refused global)."""
    filename = os.path.expanduser(str(filename))
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename}: no such checkpoint file')
    _check_container(filename)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r'GLOBAL (\S+)', str(err))
        what = f'the global {found[1]}' if found else 'a pickled object outside the allow-list'
        raise UnsafeCheckpointError(
            f'{filename}: refused to load {what}, which archtransfer checkpoints never hold '
            '(tensors, containers and numpy values only); unpickling it could run code') from None
    except (RuntimeError, EOFError) as err:  # zip member or pickle stream cut short
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f'{filename}: truncated or corrupted checkpoint ({detail})') \
            from None


def read_state_dict(path) -> dict:
    """A state dict from ``.safetensors`` or a torch checkpoint: mmengine's
    ``{'state_dict': ...}`` and DDP's ``module.`` prefix are unwrapped."""
    return read_checkpoint(path)[0]


def read_checkpoint(path) -> tuple:
    """``(state dict, meta)`` of a file :func:`read_state_dict` reads; ``meta`` is the
    checkpoint's ``meta`` dict (``{}`` when it has none, e.g. a bare state dict)."""
    path = str(path)
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path), {}
    checkpoint = load_checkpoint_safely(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: holds no state dict (a mapping of names to tensors)')
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    meta = checkpoint.get('meta') if state is not checkpoint else None
    return state, meta if isinstance(meta, dict) else {}


def atomic_save(obj, path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename over ``path``.

    A crash or kill mid-write leaves the previous file at ``path`` intact. The file gets mode
    0644, as files torch and mmengine write.
    """
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(path, text: str) -> Path:
    """:func:`atomic_save` for text (JSON files of searches, reports and transfers)."""
    return atomic_write(path, lambda f: f.write(text.encode()))


def atomic_write(path, write) -> Path:
    """Call ``write(binary file)`` on a temporary file beside ``path``, then as
    :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            write(f)
    return Path(path)


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` for a writer that takes a path (mmengine's
    checkpoint saver); when the block ends, fsync it, give it mode 0644 and rename it over
    ``path``. On an exception nothing is renamed and the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.partial', dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb+') as f:
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
