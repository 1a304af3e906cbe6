"""Bandit agents: linear (LinUCB, Linear TS), neural, EXP3, Thompson sampling, mixtures.

Each agent has its module, as in TF-Agents (`bandits.agents.lin_ucb_agent`);
modules load on first use.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        bernoulli_thompson_sampling_agent dropout_thompson_sampling_agent examples
        exp3_agent exp3_mixture_agent greedy_multi_objective_neural_agent
        greedy_reward_prediction_agent lin_ucb_agent
        linear_bandit_agent linear_thompson_sampling_agent mixture_agent
        neural_boltzmann_agent neural_epsilon_greedy_agent neural_falcon_agent
        neural_linucb_agent ranking_agent static_mixture_agent utils
    """,
)
