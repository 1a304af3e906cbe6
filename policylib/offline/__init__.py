"""Offline reinforcement learning data: Minari data sets as trajectories (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="minari_data",
    attributes="minari_data: MinariTrajectories DataSummary record_dataset",
)
