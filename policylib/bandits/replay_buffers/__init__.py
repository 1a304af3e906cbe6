"""Replay buffers for bandits."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(globals(), modules="bandit_replay_buffer")
