"""Runs a function on a module as soon as it is imported, or now if it already is.

policylib mends a few TensorFlow modules (`policylib._tf_patches` lists each
change), but `import policylib` must not import TensorFlow: that costs seconds
and a process may never need it. `after_import(name, fn)` calls `fn(module)`
at once when `name` is in `sys.modules`; otherwise one finder on
`sys.meta_path` (`_AfterImportFinder`) wraps that module's loader, so `fn`
runs right after the module's own code, before anything else can use it.
Imports nothing of policylib.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

__all__ = ["after_import"]

Callback = Callable[[ModuleType], None]

# Module name -> functions still waiting for that module's import.
_waiting: dict[str, list[Callback]] = {}


def after_import(name: str, fn: Callback) -> None:
    """Calls `fn(module)` once module `name` is imported (now, if it is)."""
    module = sys.modules.get(name)
    if module is not None:
        fn(module)
        return
    _waiting.setdefault(name, []).append(fn)
    if not any(isinstance(f, _AfterImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImportFinder())


class _CallingLoader(importlib.abc.Loader):
    """Runs the real loader, then the functions waiting for the module."""

    def __init__(self, loader: importlib.abc.Loader, callbacks: list[Callback]):
        self._loader = loader
        self._callbacks = callbacks

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module sees its own loader, as without the hook (tracebacks and
        # `inspect` read source through it).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        for fn in self._callbacks:
            fn(module)


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    """Finds a waited-for module with the other finders and wraps its loader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        callbacks = _waiting.pop(fullname, None)
        if callbacks is None:
            return None
        if not _waiting and self in sys.meta_path:
            sys.meta_path.remove(self)  # nothing left to wait for
        spec = _find_without(self, fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _CallingLoader(spec.loader, callbacks)
        return spec


def _find_without(
    finder: _AfterImportFinder,
    fullname: str,
    path: Sequence[str] | None,
    target: ModuleType | None,
) -> importlib.machinery.ModuleSpec | None:
    """The spec the other finders give (this finder may still be on the path)."""
    for other in sys.meta_path:
        if other is finder or not hasattr(other, "find_spec"):
            continue
        spec = other.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None
