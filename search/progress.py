"""A search reported as it goes: a tqdm bar over evaluated candidates and, inside an mmengine
run, lines in its log and scalars for its visualizer.

* The bar (``progress=True``): step, last candidate, best of the step, scores labelled with what
  they are (:func:`search.protocol.score_name`). It is a :class:`common.progress.ProgressBar`, so
  log lines are written above it.
* Inside a run — a runner built in this process, as ``tools/greedy_search.py`` does; rank 0 only —
  every settled greedy step is a line of the run's log (the work dir's ``.log`` file and the
  console): the allocation taken for that size, its labelled score, out of how many candidates,
  and the next best. Every score goes to the run's visualizer (``add_scalar``): ``search/score``
  once per evaluated candidate (step: its place in the search log), ``search/chain`` once per size
  taken (step: the allocation's blocks). With ``TensorboardVisBackend`` among the config's
  ``visualizer.vis_backends``, ``tensorboard --logdir WORK_DIR`` shows them (docs/search.md).

Outside a run (a library call, a doctest) nothing is logged and this module imports no mmengine.
"""
from __future__ import annotations

import logging
import sys

from common.progress import ProgressBar

from .log import Record


def run_logger():
    """The logger of the mmengine run in this process (mmengine's current ``MMLogger``, if it
    writes a log file, as a runner's does on rank 0), else ``None``; ``None`` on other ranks."""
    module = sys.modules.get('mmengine.logging')
    if module is None or not module.MMLogger._instance_dict or not _rank_zero():
        return None  # get_current_instance() would make a console-only logger
    logger = module.MMLogger.get_current_instance()
    return logger if any(isinstance(h, logging.FileHandler) for h in logger.handlers) else None


def run_visualizer():
    """mmengine's current ``Visualizer`` (a runner builds one), else ``None``; ``None`` on
    ranks other than 0 (they would write the same scalars again)."""
    module = sys.modules.get('mmengine.visualization')
    if module is None or not module.Visualizer._instance_dict or not _rank_zero():
        return None  # get_current_instance() raises before any instance exists
    return module.Visualizer.get_current_instance()


def _rank_zero() -> bool:
    dist = sys.modules.get('mmengine.dist')
    return dist is None or dist.get_rank() == 0


class SearchProgress:
    """Call it with each new :class:`Record` (an ``on_record`` callback); :meth:`picked` with
    each settled greedy step. Its parts do nothing where absent (see the module doc).

    Args:
        desc: the bar's label.
        enabled: show the bar.
        total: candidates expected, if known.
        score_name: what the scores are, e.g. ``'held-out log-likelihood'``.
        first_index: candidates the search log held before (``search/score``'s steps go on from
            there).

    ``new_step(step, note)`` starts a step (greedy: one size); "best" is the best of the step.
    """

    def __init__(self, desc: str, enabled: bool = True, total: int | None = None,
                 score_name: str = 'score', first_index: int = 0):
        self.bar = None
        if enabled:
            self.bar = ProgressBar(desc=desc, total=total, unit='cand')
        self.logger, self.visualizer = run_logger(), run_visualizer()
        self.score_name, self.index = score_name, first_index
        self._scalars_written = False
        self.step, self.note, self.best = 0, '', None

    def new_step(self, step: int, note: str = ''):
        self.step, self.note, self.best = step, note, None

    def __call__(self, record: Record):
        if self.best is None or record.score > self.best.score:
            self.best = record
        self.index += 1
        self._scalar('search/score', record.score, self.index)
        if self.bar is not None:
            self.bar.update()
            self.bar.set_postfix_str(
                f'step {self.step}{self.note}, {self.score_name}: candidate {record.label} '
                f'{record.score:.4g}, best {self.best.label} {self.best.score:.4g}')

    def picked(self, step: int, ranked: list, tied: list):
        """A greedy step settled: ``ranked`` its candidates best first (``ranked[0]`` taken),
        ``tied`` those tied with the best."""
        taken = ranked[0]
        line = (f'greedy step {step}{self.note}: took {taken.label} ({sum(taken.allocation)} '
                f'blocks), {self.score_name} {taken.score:.4f}, best of {len(ranked)}')
        if len(ranked) > 1:
            line += f'; next {ranked[1].label} {ranked[1].score:.4f}'
        if len(tied) > 1:
            line += f'; {len(tied)} tied, their order drawn at random (seeded)'
        self.log(line)
        self._scalar('search/chain', taken.score, sum(taken.allocation))
        self._flush()  # TensorBoard shows the chain as it grows

    def log(self, line: str):
        """A line in the run's log (none outside a run)."""
        if self.logger is not None:
            self.logger.info(line)

    def _scalar(self, name: str, value: float, step: int):
        if self.visualizer is not None:
            self.visualizer.add_scalar(name, value, step=step)
            self._scalars_written = True

    def _flush(self):
        """Write the visualizer's buffered scalars to disk (TensorBoard's writer keeps them up to
        two minutes, and the runner closed it already when the fine-tuning ended)."""
        if not self._scalars_written:  # a backend's `experiment` would start it (a new run)
            return
        # mmengine's Visualizer lists its backends only in this attribute
        for backend in getattr(self.visualizer, '_vis_backends', {}).values():
            flush = getattr(backend.experiment, 'flush', None)
            if callable(flush):
                flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        self._flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
