"""Progress bars that log lines do not tear.

A tqdm bar redraws its line in place; a log line written to the same terminal meanwhile lands in
the middle of it, and the bar goes on below a torn line. While any :class:`ProgressBar` is open,
the console handlers of mmengine's loggers (``MMLogger``: the runners' logs, ``print_log(...,
logger='current')``) write through ``tqdm.write`` instead: the bars are cleared, the line is
written whole, and the bars are drawn again below it. The handlers keep their level, filters and
format; files are left alone, and the handlers write to their own streams again once the last bar
closes. Every bar of the project (the search's, :class:`engine.progress.TqdmHook`'s, the report's
loops) is one of these.

    >>> import io, logging
    >>> logger, console = logging.Logger('demo'), logging.StreamHandler(sys.stdout)
    >>> logger.addHandler(console)
    >>> with ProgressBar(total=2, file=io.StringIO(), loggers=[logger]):
    ...     logger.warning('a line above the bar')
    ...     type(console.stream).__name__
    a line above the bar
    '_AboveBars'
    >>> console.stream is sys.stdout
    True
"""
from __future__ import annotations

import logging
import sys

from tqdm.auto import tqdm

_swapped: list = []  # (handler, its own stream) while bars are open
_open_bars = 0


class _AboveBars:
    """A console stream whose writes go through ``tqdm.write`` (one per log record: a
    ``StreamHandler`` writes a record and its newline in one call)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str):
        tqdm.write(text, file=self.stream, end='')

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):  # isatty, encoding, ...: the stream's own
        return getattr(self.stream, name)


def _mmengine_loggers() -> list:
    """The loggers of mmengine's runs in this process; none when mmengine was never imported
    (importing it here would cost what a plain bar should not)."""
    logging_module = sys.modules.get('mmengine.logging')
    if logging_module is None:
        return []
    return list(logging_module.MMLogger._instance_dict.values())


def _route_above_bars(loggers):
    """Each console handler of ``loggers`` (one writing to this process's stdout or stderr,
    where the bars are) writes through ``tqdm.write`` until :func:`_restore`."""
    for logger in loggers:
        for handler in logger.handlers:
            # a FileHandler is a StreamHandler too, and a log file has no bars to keep clear of
            if type(handler) is logging.StreamHandler and \
                    any(handler.stream is s for s in (sys.stdout, sys.stderr)):
                _swapped.append((handler, handler.stream))
                _set_stream(handler, _AboveBars(handler.stream))


def _restore():
    while _swapped:
        handler, stream = _swapped.pop()
        _set_stream(handler, stream)


def _set_stream(handler, stream):
    # not handler.setStream(): it flushes the stream it replaces, which may be closed by now
    handler.acquire()
    try:
        handler.stream = stream
    finally:
        handler.release()


class ProgressBar(tqdm):
    """A tqdm bar (any of tqdm's arguments) while which log lines are written above the bars.

    Args:
        loggers: whose console handlers to route through ``tqdm.write``; default: every
            mmengine logger that exists when the bar opens (a bar opened inside another routes
            the loggers created in between as well).
    """

    def __init__(self, *args, loggers=None, **kwargs):
        global _open_bars
        self._routed = False
        super().__init__(*args, **kwargs)
        _route_above_bars(_mmengine_loggers() if loggers is None else loggers)
        _open_bars += 1
        self._routed = True

    def close(self):
        global _open_bars
        super().close()
        if getattr(self, '_routed', False):  # close() runs again from __del__
            self._routed = False
            _open_bars -= 1
            if _open_bars == 0:
                _restore()
