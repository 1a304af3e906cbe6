"""Bandit policies: linear, reward-prediction, Thompson sampling, categorical, mixture.

As in TF-Agents, `policy_utilities` is `policylib.policies.utils`; modules
load on first use.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        bernoulli_thompson_sampling_policy boltzmann_reward_prediction_policy
        categorical_policy constraints falcon_reward_prediction_policy
        greedy_multi_objective_neural_policy
        greedy_reward_prediction_policy lin_ucb_policy linalg linear_bandit_policy
        linear_thompson_sampling_policy loss_utils mixture_policy
        neural_linucb_policy policy_utilities ranking_policy
        reward_prediction_base_policy
    """,
)
