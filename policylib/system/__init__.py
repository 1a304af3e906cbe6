"""Process helpers (multiprocessing start-up) kept for TF-Agents import compatibility."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="system_multiprocessing",
)
