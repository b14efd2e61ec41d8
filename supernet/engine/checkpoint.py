"""Checkpoints that load without unpickling arbitrary objects, and writes that are atomic.

torch ≥ 2.6 loads with ``weights_only=True`` by default, which refuses what mmengine pickles into
``message_hub``: ``HistoryBuffer`` objects whose state references their methods through
``getattr``. Allow-listing ``getattr`` would weaken the loader for every file, so instead
:class:`SafeCheckpointRunner` stores that state as plain lists (:func:`plain_message_hub`) and
restores it on resume. The loader, registered for local paths in mmengine's ``CheckpointLoader``
(so ``load_from``, ``resume`` and ``init_cfg=Pretrained`` all use it), allows tensors, Python
containers and numpy arrays/scalars; a file holding anything else is refused before any of its
code can run.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


def _numpy_globals() -> list:
    """What pickled numpy arrays and scalars reference (module paths differ across numpy 1/2)."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_classes = {type(np.dtype(t)) for t in np.typecodes['All'] if t not in 'OMmV'}
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtype_classes]


SAFE_GLOBALS = _numpy_globals()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allow-list; it was not unpickled."""


def load_checkpoint_safely(filename, map_location=None) -> dict:
    """``torch.load`` with ``weights_only=True`` plus :data:`SAFE_GLOBALS`."""
    filename = os.path.expanduser(str(filename))
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        detail = str(err).split('\n\n')[0].strip()
        raise UnsafeCheckpointError(
            f'refused to load {filename}: it contains a pickled object that is not on the '
            f'allow-list of archtransfer checkpoints, and unpickling it could run arbitrary code '
            f'({detail}). If you trust this file and know the type, add it with '
            f'torch.serialization.add_safe_globals([...]) before loading.') from None


def plain_message_hub(state: dict) -> dict:
    """``MessageHub.state_dict()`` with every ``HistoryBuffer`` as a plain dict (in place)."""
    state['log_scalars'] = {
        key: dict(log_history=buffer.data[0].tolist(), count_history=buffer.data[1].tolist(),
                  max_length=buffer.max_length) if isinstance(buffer, HistoryBuffer) else buffer
        for key, buffer in state.get('log_scalars', {}).items()}
    return state


def restore_message_hub(state: dict) -> dict:
    """Inverse of :func:`plain_message_hub` (in place); ``HistoryBuffer`` objects pass through."""
    state['log_scalars'] = {
        key: HistoryBuffer(**buffer) if isinstance(buffer, dict) else buffer
        for key, buffer in state.get('log_scalars', {}).items()}
    return state


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_local(filename, map_location=None):
    return load_checkpoint_safely(filename, map_location)


def atomic_save(obj, path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename over ``path``.

    A crash or kill mid-write leaves the previous file at ``path`` intact.
    """
    return _atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(path, text: str) -> Path:
    """:func:`atomic_save` for text (JSON files of searches and reports)."""
    return _atomic_write(path, lambda f: f.write(text.encode()))


def _atomic_write(path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.partial', dir=path.parent)
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
