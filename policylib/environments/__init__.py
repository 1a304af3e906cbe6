"""Environments policies act in (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = ("batched_py_environment", "py_environment", "random_py_environment")

__all__ = list(_MODULES)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
