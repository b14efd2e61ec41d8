"""A tqdm bar over evaluated candidates: step, last candidate, best so far."""
from __future__ import annotations

from .log import Record


class SearchProgress:
    """Call it with each new :class:`Record` (an ``on_record`` callback); no-op when disabled.

    ``new_step(step, note)`` starts a step (greedy: one size); "best" is the best of the step.
    """

    def __init__(self, desc: str, enabled: bool = True, total: int | None = None):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm
            self.bar = tqdm(desc=desc, total=total, unit='cand')
        self.step, self.note, self.best = 0, '', None

    def new_step(self, step: int, note: str = ''):
        self.step, self.note, self.best = step, note, None

    def __call__(self, record: Record):
        if self.best is None or record.score > self.best.score:
            self.best = record
        if self.bar is not None:
            self.bar.update()
            self.bar.set_postfix_str(
                f'step {self.step}{self.note}, candidate {record.allocation}: {record.score:.4g}, '
                f'best {self.best.allocation}: {self.best.score:.4g}')

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
