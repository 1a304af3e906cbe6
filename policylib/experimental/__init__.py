"""Experimental parts of TF-Agents' API: `experimental.distributed` and `experimental.train`.

As in TF-Agents, `experimental.train` is the `policylib.train` package itself
(scripts written before it left `experimental` import it from here). Both load
on first access.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from policylib._lazy import lazy_package

_package_getattr, _package_dir = lazy_package(globals(), modules="distributed")
__all__ = ["distributed", "train"]


def __getattr__(name: str) -> ModuleType:
    if name == "train":
        return importlib.import_module("policylib.train")
    return _package_getattr(name)


def __dir__() -> list[str]:
    return sorted({*_package_dir(), "train"})
