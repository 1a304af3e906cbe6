"""PPO: the agents (clip and KL penalty), their policy, actor network and helpers."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        ppo_actor_network ppo_agent ppo_clip_agent ppo_kl_penalty_agent
        ppo_losses ppo_policy ppo_returns ppo_utils
    """,
    attributes="""
        ppo_agent: PPOAgent
        ppo_clip_agent: PPOClipAgent
        ppo_kl_penalty_agent: PPOKLPenaltyAgent
    """,
)
