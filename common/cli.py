"""What every command-line tool shares: one-line errors and argv fixes.

A user's mistake (a bad flag value, a missing or foreign file) is reported as argparse does —
``prog: error: <one line>`` on stderr, exit status 2 — not as a traceback. ``--debug`` or
``ARCHTRANSFER_DEBUG=1`` shows the traceback instead, for bugs.
"""
from __future__ import annotations

import argparse
import ast
import os
import pickle
import re
import sys
import warnings
from typing import Callable, Sequence

# mmengine imports pkg_resources, and setuptools warns on every such import: on stderr that line
# would bury a tool's own one-line error. Tools import this module first.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

# What a user's input causes; anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, KeyError, TypeError, FileNotFoundError, FileExistsError,
               IsADirectoryError, PermissionError, pickle.UnpicklingError)


def run_cli(main: Callable, argv: Sequence[str] | None = None, prog: str | None = None):
    """Call ``main(argv)``; a :data:`USER_ERRORS` exception becomes one line and exit 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in argv or os.environ.get('ARCHTRANSFER_DEBUG') == '1'
    argv = [a for a in argv if a != '--debug']
    try:
        return main(argv)
    except USER_ERRORS as err:
        if debug:
            raise
        message = ' '.join(str(err.args[0] if isinstance(err, KeyError) and err.args else err)
                           .split())
        prog = prog or os.path.basename(sys.argv[0])
        sys.stderr.write(f'{prog}: error: {message} (--debug shows the traceback)\n')
        sys.exit(2)


# A list of depths that starts with a minus: -1,1,1,1 or -1-3-7-5.
_NEGATIVE_LIST = re.compile(r'-\d+([,-]-?\d+)+')


def allocation_values_as_text(argv: Sequence[str], flags: Sequence[str]) -> list:
    """``--allocation -1,1,1,1`` → ``--allocation=-1,1,1,1`` (``-1-3-7-5`` as well): argparse
    would take a value that starts with a dash for an option, and say the flag has no value
    instead of what is wrong with it. ``1-3-7-5`` needs nothing: it does not start with a dash."""
    out = []
    for arg in sys.argv[1:] if argv is None else argv:
        if out and out[-1] in flags and _NEGATIVE_LIST.fullmatch(arg):
            out[-1] = f'{out[-1]}={arg}'
        else:
            out.append(arg)
    return out


def parsed_by(parse: Callable) -> type:
    """An argparse action converting a flag's value (each of them, with ``nargs``) with ``parse``,
    e.g. ``action=parsed_by(parse_allocation)``. A value ``parse`` refuses (``ValueError``,
    ``ArgumentTypeError``) is a ``ValueError`` naming the flag and ``parse``'s message, which
    :func:`run_cli` prints as one line; argparse's own ``type=`` error would print the usage and
    "invalid <function> value" instead."""

    class ParsedBy(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            try:
                value = ([parse(v) for v in values] if isinstance(values, list)
                         else parse(values))
            except (ValueError, argparse.ArgumentTypeError) as err:
                raise ValueError(f'{option_string or self.dest}: {err}') from None
            setattr(namespace, self.dest, value)

    return ParsedBy


def parse_opt(text: str) -> tuple:
    """``--opt key=value`` (a transfer method's option) → ``(key, value)``; the value is a Python
    literal where it parses as one (``lam=0.5`` → 0.5), else the text."""
    key, sep, value = text.partition('=')
    if not sep:
        raise argparse.ArgumentTypeError(f'--opt {text!r}: expected key=value')
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value
