"""Metrics: observers that summarize trajectories (returns, lengths, counts)."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "batched_py_metric",
    "py_metric",
    "py_metrics",
    "tf_metric",
    "tf_metrics",
    "tf_py_metric",
)

__all__ = list(_MODULES)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
