"""A module served by an import hook that a test installs at run time."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import types

NAME = "policylib_test_hooked_module"


class HookedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves `NAME`, a module that exists only while this finder is installed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != NAME:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        exec("def square(x):\n    return x * x\n", vars(module))  # noqa: S102
