"""Figures of a search: the chain's score against size."""
from __future__ import annotations

from pathlib import Path


def plot_chain(result, path, title: str | None = None) -> Path:
    """Score of the best allocation of every size along the chain, labelled with its depths
    (``*``: past the super-network's depth, initialized by transfer); the score axis names what
    the scores are (``result.score_name``) and shows them in full."""
    import matplotlib.pyplot as plt
    fig = chain_figure(result, title)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def chain_figure(result, title: str | None = None):
    """The figure :func:`plot_chain` saves (the caller closes it)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    scored = [r for r in result.chain if r.score is not None]
    sizes = [sum(r.allocation) for r in scored]
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(scored)), 4))
    ax.plot(sizes, [r.score for r in scored], marker='o')
    for size, record in zip(sizes, scored):
        ax.annotate(record.label, (size, record.score),
                    textcoords='offset points', xytext=(0, 6), ha='center', fontsize=7,
                    rotation=45)
    ax.set_xlabel('blocks in the allocation')
    ax.set_ylabel(getattr(result, 'score_name', 'score'))
    # Close scores (log-likelihoods differing in the third decimal) would otherwise read as
    # "+2.3" above the axis and ticks of 0.0001: the ticks show the scores themselves.
    ax.ticklabel_format(axis='y', style='plain', useOffset=False)
    ax.set_title(title or f'{result.method} search on {result.space}')
    ax.margins(x=0.08, y=0.18)  # room for the rotated labels
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
