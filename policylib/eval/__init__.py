"""Evaluation helpers: run a policy for some episodes and read metrics."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = ("evaluation", "media", "metric_utils")
_ATTRIBUTES = {"evaluate": "evaluation", "EvalResult": "evaluation"}

__all__ = [*_MODULES, *_ATTRIBUTES]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES, _ATTRIBUTES)
