"""Imported first by every tool that imports the ``transfer`` package (directly or through
``search``): Python puts a script's folder first on ``sys.path``, and in ``tools/`` the name
``transfer`` is ``tools/transfer.py``, not the package. The tool cannot be renamed (its name is
the documented CLI), so this drops the folder from ``sys.path`` before those imports."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
