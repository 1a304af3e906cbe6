"""DDPG: the agent and its actor and critic networks (feed-forward and recurrent)."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "actor_network",
    "actor_rnn_network",
    "critic_network",
    "critic_rnn_network",
    "ddpg_agent",
)

__all__ = [*_MODULES, "DdpgAgent"]

__getattr__, __dir__ = lazy_exports(
    __name__, globals(), _MODULES, {"DdpgAgent": "ddpg_agent"}
)
