"""Figures and markdown helpers shared by the sections; every value they print comes from the
report's JSON, formatted by the few functions here (so a test can parse it back)."""
from __future__ import annotations

from pathlib import Path

from supernet.spaces import format_allocation as allocation  # noqa: F401  (used by the sections)


def num(value, decimals: int = 2, sign: bool = False) -> str:
    """A number as the report prints it; ``None`` → ``'–'``."""
    if value is None:
        return '–'
    return f'{value:+.{decimals}f}' if sign else f'{value:.{decimals}f}'


def plus_minus(value, spread, decimals: int = 2, sign: bool = False) -> str:
    """``'47.67 ± 4.08'``; the value alone when there is no spread (one seed)."""
    if spread is None:
        return num(value, decimals, sign)
    return f'{num(value, decimals, sign)} ± {num(spread, decimals)}'


def epochs(n: int) -> str:
    """``'1 epoch'``, ``'8 epochs'``."""
    return f'{n} epoch' if n == 1 else f'{n} epochs'


def table(headers: list, rows: list) -> str:
    """A GitHub markdown table."""
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '|'.join('---' for _ in headers) + '|']
    lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
    return '\n'.join(lines)


def provenance(section: dict) -> str:
    """What produced a section: its command and seed (shown under the figure and in it)."""
    return f'`{section["command"]}` (seed {section["seed"]})'


def figure(rows: int = 1, cols: int = 1, size=(7, 4.5), **kwargs):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt.subplots(rows, cols, figsize=size, **kwargs)


def save(fig, path, section: dict) -> Path:
    """Write ``fig`` as PNG with the command and seed that produced it along the bottom."""
    import matplotlib.pyplot as plt
    fig.text(0.005, 0.005, f'{section["command"]}   (seed {section["seed"]})', fontsize=6.5,
             color='0.35', ha='left', va='bottom', family='monospace')
    fig.tight_layout(rect=(0, 0.035, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
