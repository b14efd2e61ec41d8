"""mmengine ``Runner`` whose checkpoints load safely and are written atomically."""
from __future__ import annotations

import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from common.checkpoint import atomic_path

from .checkpoint import plain_message_hub, restore_message_hub


class _PlainMessageHubHook(Hook):
    """Stores the message hub as plain data in checkpoints and rebuilds it when resuming."""
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict):
        if 'message_hub' in checkpoint:
            plain_message_hub(checkpoint['message_hub'])

    def after_load_checkpoint(self, runner, checkpoint: dict):
        if 'message_hub' in checkpoint:  # runs before Runner.resume reads it
            restore_message_hub(checkpoint['message_hub'])


@RUNNERS.register_module()
class SafeCheckpointRunner(Runner):
    """``Runner`` with checkpoints that load under ``weights_only=True`` and writes that are atomic.

    * The message hub's history is stored as lists, so loading needs no pickled Python objects.
    * Each checkpoint is written to a ``.partial`` file and renamed when complete
      (:func:`common.checkpoint.atomic_path`). mmengine writes
      in place, so a kill mid-write would leave a truncated file under the final name; here the
      name appears only once the file is whole, and ``CheckpointHook`` updates
      ``last_checkpoint`` only after that, so ``--resume`` always finds a readable checkpoint.

    Select it with ``runner_type = 'SafeCheckpointRunner'`` in a config.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_hook(_PlainMessageHubHook())

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs):
        # Remote storage has no atomic rename; other ranks build the dict but write nothing.
        if '://' in out_dir or not is_main_process():
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        with atomic_path(osp.join(out_dir, filename)) as partial:
            super().save_checkpoint(out_dir, osp.basename(partial), *args, **kwargs)
