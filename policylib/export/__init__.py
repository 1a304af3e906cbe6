"""Policy exports for deployment: `litert` writes a TFLite flatbuffer and specs."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = ("litert", "litert_files")

__all__ = list(_MODULES)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
