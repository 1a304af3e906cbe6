"""Agents: DQN-family, REINFORCE, behavioral cloning, DDPG, TD3, SAC and PPO.

As in TF-Agents, each agent has its module (`agents.sac.sac_agent.SacAgent`)
and the agent classes are importable from here (`from policylib.agents import
SacAgent`), loaded on first use.
"""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "behavioral_cloning",
    "categorical_dqn",
    "data_converter",
    "ddpg",
    "dqn",
    "ppo",
    "random",
    "reinforce",
    "sac",
    "td3",
    "tf_agent",
)

_AGENTS = {
    "BehavioralCloningAgent": "behavioral_cloning.behavioral_cloning_agent",
    "CategoricalDqnAgent": "categorical_dqn.categorical_dqn_agent",
    "DdpgAgent": "ddpg.ddpg_agent",
    "DqnAgent": "dqn.dqn_agent",
    "PPOAgent": "ppo.ppo_agent",
    "PPOClipAgent": "ppo.ppo_clip_agent",
    "PPOKLPenaltyAgent": "ppo.ppo_kl_penalty_agent",
    "ReinforceAgent": "reinforce.reinforce_agent",
    "SacAgent": "sac.sac_agent",
    "Td3Agent": "td3.td3_agent",
    "TFAgent": "tf_agent",
}

__all__ = [*_MODULES, *_AGENTS]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES, _AGENTS)
