"""Analyses others reuse, above ``supernet``, ``transfer`` and ``search``: small classifiers for
transfer experiments (:mod:`analysis.smallnets`, used by the report's transfer study
:mod:`reproduce.hetero` and by ``benchmarks/warm_start.py``) and effective receptive fields
(:mod:`analysis.erf`, used by the report and ``tools/visualize_erf.py``)."""
