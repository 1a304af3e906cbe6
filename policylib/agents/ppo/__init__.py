"""PPO: the agents (clip and KL penalty), their policy, actor network and helpers."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "ppo_actor_network",
    "ppo_agent",
    "ppo_clip_agent",
    "ppo_kl_penalty_agent",
    "ppo_policy",
    "ppo_utils",
)

__all__ = [*_MODULES, "PPOAgent", "PPOClipAgent", "PPOKLPenaltyAgent"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    _MODULES,
    {
        "PPOAgent": "ppo_agent",
        "PPOClipAgent": "ppo_clip_agent",
        "PPOKLPenaltyAgent": "ppo_kl_penalty_agent",
    },
)
