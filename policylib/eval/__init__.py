"""Evaluation helpers: run a policy for some episodes and read metrics."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = ("metric_utils",)

__all__ = list(_MODULES)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
