"""mmengine ``Runner`` whose checkpoints load safely and are written atomically."""
from __future__ import annotations

import glob
import os.path as osp
import re

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

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
    * ``CheckpointHook`` rewrites ``last_checkpoint`` in place: a run killed in that instant
      leaves it empty, and mmengine would resume from ``''``. Resuming, a ``last_checkpoint`` that
      names no file (or is missing) gives way to the newest ``iter_*.pth`` / ``epoch_*.pth`` of
      the work dir, complete by the rule above (:func:`newest_checkpoint`).

    Select it with ``runner_type = 'SafeCheckpointRunner'`` in a config.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_hook(_PlainMessageHubHook())

    def load_or_resume(self):
        if self._resume and self._load_from is None and not self._has_loaded:
            named = find_latest_checkpoint(self.work_dir)
            newest = newest_checkpoint(self.work_dir)
            if (named is None or not osp.isfile(named)) and newest is not None:
                self.logger.warning(f'last_checkpoint names {named!r}, not a checkpoint file (a '
                                    f'run killed while writing it?): resuming from {newest}')
                self._load_from = newest  # mmengine: resume=True with load_from resumes it
        return super().load_or_resume()

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs):
        # Remote storage has no atomic rename; other ranks build the dict but write nothing.
        if '://' in out_dir or not is_main_process():
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        with atomic_path(osp.join(out_dir, filename)) as partial:
            super().save_checkpoint(out_dir, osp.basename(partial), *args, **kwargs)


def newest_checkpoint(work_dir: str) -> str | None:
    """The ``iter_<n>.pth`` or ``epoch_<n>.pth`` of ``work_dir`` with the largest ``n``, or
    ``None``."""
    found = [(int(m.group(2)), path) for path in glob.glob(osp.join(work_dir, '*_*.pth'))
             if (m := re.fullmatch(r'(iter|epoch)_(\d+)\.pth', osp.basename(path)))]
    return max(found)[1] if found else None
