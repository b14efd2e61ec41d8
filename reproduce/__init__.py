"""The paper's claims in miniature: one run on the embedded demo data, one JSON, one markdown
report with figures (``tools/report.py``).

:func:`run_report` computes every number into ``report.json``; :func:`render_report` draws the
figures and writes ``README.md`` from that JSON alone, so what the markdown says is what the
JSON holds. One module per section, each with ``compute(ctx, report) -> dict``,
``plot(data, path)`` and ``markdown(data) -> str``:

0. :mod:`~reproduce.headline` — the searched subnet vs the default allocation, from inherited,
   source-fine-tuned (paper Sec. 3.4) and stand-alone source weights; is the miniature trained
   enough to tell
1. :mod:`~reproduce.architecture` — architecture matters (paper Fig. 1)
2. :mod:`~reproduce.searches` — greedy vs exhaustive vs random vs evolution
3. :mod:`~reproduce.inheritance` — weight inheritance vs random init
4. :mod:`~reproduce.hetero` — heterogeneous transfer (HMT, DPIAT, TLI)
5. :mod:`~reproduce.receptive_field` — effective receptive fields (:mod:`~analysis.erf`)
6. :mod:`~reproduce.trajectory` — what the greedy search did

:mod:`~reproduce.rerun` puts two or more runs' verdicts side by side
(``tools/compare_reports.py``).

The transfer section, the last target seed's searches and about half of the headline's training
run in a second process (:mod:`~reproduce.parallel`), beside the rest.

Each study is written once, here: ``benchmarks/`` imports the same functions and runs them on
other data or at other sizes (``transfer_effectiveness.py`` runs
:func:`~reproduce.hetero.fine_tune_pairs`, ``greedy_vs_exhaustive.py``
:func:`~reproduce.searches.search_every_way`, ``inherit_vs_scratch.py``
:func:`~reproduce.inheritance.inherited_vs_random`).
"""
from common import deprecation

from .document import SECTIONS, render_report, run_report
from .settings import FULL, REDUCED, Settings

deprecation.install()  # reproduce.demo moved to engine.demo

__all__ = ['FULL', 'REDUCED', 'SECTIONS', 'Settings', 'render_report', 'run_report']
