"""TD3: twin delayed deep deterministic policy gradients."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="td3_agent",
    attributes="""
        td3_agent: Td3Agent
    """,
)
