"""Metrics: observers that summarize trajectories (returns, lengths, counts)."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="batched_py_metric py_metric py_metrics tf_metric tf_metrics tf_py_metric",
)
