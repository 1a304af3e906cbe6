"""Evaluation helpers: run a policy for some episodes and read metrics."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="episode_runner evaluation media metric_utils workers",
    attributes="""
        evaluation: Backend EvalResult evaluate
    """,
)
