"""Distributed training helpers: `ReverbVariableContainer` (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="reverb_variable_container",
    attributes="reverb_variable_container: ReverbVariableContainer",
)
