"""DDPG: the agent and its actor and critic networks (feed-forward and recurrent)."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        actor_network actor_rnn_network critic_network critic_rnn_network
        ddpg_agent
    """,
    attributes="""
        ddpg_agent: DdpgAgent
    """,
)
