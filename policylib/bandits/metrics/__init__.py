"""Bandit metrics: regret, suboptimal arms, constraint violations, distance from greedy."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(globals(), modules="tf_metrics")
