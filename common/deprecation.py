"""Old names that keep working for one release, each warning once (``FutureWarning``, shown by
default) with the name that replaces it.

Two kinds, both listed here so that the next release deletes them in one place:

* modules that moved (:data:`MOVED_MODULES`): ``import supernet.engine.hooks`` imports
  ``engine.hooks`` and binds it under the old name too — one module object, so nothing registers
  twice in mmengine's registries;
* functions that were renamed: a module lists them with :func:`renamed`, which becomes its
  ``__getattr__`` (PEP 562).

The old names resolve lazily, on use: a deprecated name of a lower package may point at a higher
one (``supernet.init_from`` is ``initialize.init_from``), and only code that still uses it pays
that import.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

# old module (and everything below it) -> the module it is now
MOVED_MODULES = {
    'supernet.engine': 'engine',
    'supernet.registry': 'engine.registry',
    'supernet.datasets': 'archdata',
    'supernet.warm_start': 'initialize.warm_start',
    'supernet.sources': 'initialize.sources',
    'supernet.convert': 'initialize.convert',
    'supernet.export': 'supernet.extract',
    'search.engine': 'engine.evaluators',
    'search.detection': 'engine.detection',
    'search.pipeline': 'engine.pipeline',
    'search.warm_start': 'initialize.warm_start',
    'search.grow': 'initialize.grow',
    'reproduce.demo': 'engine.demo',
}

_warned: set = set()


def warn_once(old: str, new: str, stacklevel: int = 3):
    """One ``FutureWarning`` per old name and process."""
    if old not in _warned:
        _warned.add(old)
        warnings.warn(f'{old} is deprecated and will be removed in the next release; use {new}',
                      FutureWarning, stacklevel=stacklevel)


def renamed(module: str, names: dict):
    """A module ``__getattr__`` serving old attribute names: ``{old: 'new'}`` in the same module
    or ``{old: 'package.module:new'}`` elsewhere."""
    def __getattr__(name):
        if name not in names:
            raise AttributeError(f'module {module!r} has no attribute {name!r}')
        where, _, new = names[name].rpartition(':')
        warn_once(f'{module}.{name}', f'{where or module}.{new}')
        return getattr(importlib.import_module(where or module), new)
    return __getattr__


def _new_name(fullname: str) -> str | None:
    for old, new in MOVED_MODULES.items():
        if fullname == old or fullname.startswith(old + '.'):
            return new + fullname[len(old):]
    return None


class _Alias(importlib.abc.Loader):
    """Hands the import system the already imported new module under the old name."""

    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        warn_once(spec.name, self.new, stacklevel=6)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the import system set the old name's spec on it


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new = _new_name(fullname)
        return None if new is None else importlib.util.spec_from_loader(fullname, _Alias(new))


def install():
    """Serve the old module names (idempotent); the packages that lost modules call it."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedModuleFinder())
