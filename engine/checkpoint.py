"""mmengine's side of safe checkpoints: the allow-listed loader registered for local paths in
mmengine's ``CheckpointLoader`` (so ``load_from``, ``resume`` and ``init_cfg=Pretrained`` all use
:func:`common.checkpoint.load_checkpoint_safely`), and a message hub stored as plain data.

mmengine pickles ``HistoryBuffer`` objects into ``message_hub``, whose state references their
methods through ``getattr``. Allow-listing ``getattr`` would weaken the loader for every file, so
instead :class:`~engine.runner.SafeCheckpointRunner` stores that state as plain lists
(:func:`plain_message_hub`) and restores it on resume.
"""
from __future__ import annotations

from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from common.checkpoint import load_checkpoint_safely


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
