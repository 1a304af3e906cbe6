"""Runs code around or after a module's import, or now if it is already imported.

policylib acts on TensorFlow's import in a few ways (quieting its start-up
lines, rebasing `lazy_tf.Module`, the patch inventory's changes), but
`import policylib` must not import TensorFlow: that costs seconds and a process
may never need it. `after_import(name, fn)` calls `fn(module)` at once when
`name` is in `sys.modules`; `around_import(name, wrap)` runs the module's own
code inside the context `wrap(module)` gives, and `around_imports_under(package,
wrap)` does so for every module of a package imported from then on. Until a
module is imported, one finder on `sys.meta_path` (`_AfterImportFinder`) waits
for it and wraps its loader, so the hooks run with the module's own code, before
anything else can use it. Imports nothing of policylib.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import ModuleType

__all__ = ["after_import", "around_import", "around_imports_under"]

Callback = Callable[[ModuleType], None]
Wrapper = Callable[[ModuleType], AbstractContextManager[object]]


@dataclasses.dataclass
class _Hooks:
    """What waits for one module: contexts around its code, functions after it."""

    around: list[Wrapper] = dataclasses.field(default_factory=list)
    after: list[Callback] = dataclasses.field(default_factory=list)


_waiting: dict[str, _Hooks] = {}
# (package, wrap): every module under `package` runs inside `wrap(module)`.
_around_packages: list[tuple[str, Wrapper]] = []


def after_import(name: str, fn: Callback) -> None:
    """Calls `fn(module)` once module `name` is imported (now, if it is; once per `fn`)."""
    module = sys.modules.get(name)
    if module is not None:
        fn(module)
        return
    hooks = _wait_for(name)
    if fn not in hooks.after:
        hooks.after.append(fn)


def around_import(name: str, wrap: Wrapper) -> bool:
    """Runs module `name`'s own code inside `wrap(module)` when it is imported.

    Returns False (and does nothing) when the module is already imported.
    """
    if name in sys.modules:
        return False
    hooks = _wait_for(name)
    if wrap not in hooks.around:
        hooks.around.append(wrap)
    return True


def around_imports_under(package: str, wrap: Wrapper) -> None:
    """Runs the own code of each module of `package` imported from now on inside `wrap(module)`.

    Modules already imported are not touched; `package` itself is not included.
    """
    if (package, wrap) not in _around_packages:
        _around_packages.append((package, wrap))
    _install_finder()


def _wait_for(name: str) -> _Hooks:
    _install_finder()
    return _waiting.setdefault(name, _Hooks())


def _install_finder() -> None:
    if not any(isinstance(f, _AfterImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImportFinder())


class _HookedLoader(importlib.abc.Loader):
    """Runs the real loader inside the waiting contexts, then the waiting functions."""

    def __init__(self, loader: importlib.abc.Loader, hooks: _Hooks):
        self._loader = loader
        self._hooks = hooks

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def __getattr__(self, name: str) -> object:
        # The rest of the real loader's interface (`get_code`, which `python -m`
        # runs a module through, `get_source`, `is_package`, resources).
        if name == "_loader":  # not set yet (a copy being made)
            raise AttributeError(name)
        return getattr(self._loader, name)

    def exec_module(self, module: ModuleType) -> None:
        # The module sees its own loader, as without the hook (tracebacks and
        # `inspect` read source through it).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with contextlib.ExitStack() as stack:
            for wrap in self._hooks.around:
                stack.enter_context(wrap(module))
            self._loader.exec_module(module)
        if module.__spec__ is not None:
            # Its code has run: the functions below may use it as imported.
            module.__spec__._initializing = False  # type: ignore[attr-defined]
        for fn in self._hooks.after:
            fn(module)


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    """Finds a waited-for module with the other finders and wraps its loader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        hooks = _waiting.pop(fullname, None)
        packages = [
            wrap
            for package, wrap in _around_packages
            if fullname.startswith(package + ".")
        ]
        if hooks is None and not packages:
            return None
        if not _waiting and not _around_packages and self in sys.meta_path:
            sys.meta_path.remove(self)  # nothing left to wait for
        hooks = _Hooks(
            around=packages + (hooks.around if hooks else []),
            after=hooks.after if hooks else [],
        )
        spec = _find_without(self, fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _HookedLoader(spec.loader, hooks)
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
