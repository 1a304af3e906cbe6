"""Helpers for Actor–Learner scripts: specs, strategies, train steps, replay set-up."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="replay_buffer_utils spec_utils strategy_utils test_utils train_utils",
)
