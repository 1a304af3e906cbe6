"""TD3: twin delayed deep deterministic policy gradients."""

from __future__ import annotations

from policylib._lazy import lazy_exports

__all__ = ["td3_agent", "Td3Agent"]

__getattr__, __dir__ = lazy_exports(
    __name__, globals(), ("td3_agent",), {"Td3Agent": "td3_agent"}
)
