"""Analyses others reuse, above ``supernet``, ``transfer`` and ``search``: small classifiers for
transfer experiments (:mod:`analysis.smallnets`, used by the report and
``benchmarks/transfer_effectiveness.py``) and effective receptive fields (:mod:`analysis.erf`,
used by the report and ``tools/visualize_erf.py``)."""
