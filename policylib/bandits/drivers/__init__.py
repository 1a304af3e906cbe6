"""Driver helpers for bandits (one-step episodes)."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(globals(), modules="driver_utils")
