"""Progress bars: one over a runner's training iterations (a hook), one over a loop. Both are
:class:`common.progress.ProgressBar`: the runners' log lines are written above them, not
through them."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from common.progress import ProgressBar


@HOOKS.register_module()
class TqdmHook(Hook):
    """A tqdm bar over a runner's training iterations, with the last loss.

    For runs whose log level hides mmengine's iteration lines (the report and tools/demo.py run
    at WARNING).

    Args:
        desc: the bar's label.
    """
    priority = 'VERY_LOW'

    def __init__(self, desc: str = 'train'):
        self.desc = desc
        self.bar = None

    def before_train(self, runner):
        self.bar = ProgressBar(total=runner.max_iters, desc=self.desc, unit='it', leave=False)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.bar is None:
            return
        self.bar.update()
        loss = (outputs or {}).get('loss')
        if loss is not None:  # a tensor still in the graph (mmengine's parse_losses), or a float
            self.bar.set_postfix_str(f'loss {float(getattr(loss, "detach", lambda: loss)()):.3f}')

    def after_train(self, runner):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress(iterable, desc: str, total: int | None = None, initial: int = 0):
    """A tqdm bar over ``iterable`` that stays on screen when done (``initial``: done before,
    by the run this one resumes)."""
    return ProgressBar(iterable, desc=desc, total=total, initial=initial, unit='run', leave=True)
