"""Agents: DQN-family, REINFORCE, behavioral cloning, DDPG, TD3, SAC, CQL-SAC and PPO.

As in TF-Agents, each agent has its module (`agents.sac.sac_agent.SacAgent`)
and the agent classes are importable from here (`from policylib.agents import
SacAgent`), loaded on first use.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        behavioral_cloning categorical_dqn cql data_converter ddpg dqn ppo random
        reinforce sac td3 tf_agent
    """,
    attributes="""
        behavioral_cloning.behavioral_cloning_agent: BehavioralCloningAgent
        categorical_dqn.categorical_dqn_agent: CategoricalDqnAgent
        cql.cql_sac_agent: CqlSacAgent
        ddpg.ddpg_agent: DdpgAgent
        dqn.dqn_agent: DqnAgent
        ppo.ppo_agent: PPOAgent
        ppo.ppo_clip_agent: PPOClipAgent
        ppo.ppo_kl_penalty_agent: PPOKLPenaltyAgent
        reinforce.reinforce_agent: ReinforceAgent
        sac.sac_agent: SacAgent
        td3.td3_agent: Td3Agent
        tf_agent: TFAgent
    """,
)
