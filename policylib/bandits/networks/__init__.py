"""Bandit reward networks: global-and-arm feature networks, heteroscedastic Q network."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(), modules="global_and_arm_feature_network heteroscedastic_q_network"
)
