"""Process helpers (multiprocessing start-up) kept for TF-Agents import compatibility."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = ("system_multiprocessing",)

__all__ = list(_MODULES)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
