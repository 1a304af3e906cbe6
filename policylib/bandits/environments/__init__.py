"""Bandit environments: stationary, drifting, piecewise, wheel, Bernoulli, per-arm.

Also ones built from data sets (classification, MovieLens). Each in its module,
as in TF-Agents; modules load on first use.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        bandit_py_environment bandit_tf_environment
        bernoulli_action_mask_tf_environment bernoulli_py_environment
        classification_environment dataset_utilities
        drifting_linear_environment environment_utilities
        movielens_per_arm_py_environment movielens_py_environment
        non_stationary_stochastic_environment piecewise_bernoulli_py_environment
        piecewise_stochastic_environment random_bandit_environment ranking_environment
        stationary_stochastic_per_arm_py_environment
        stationary_stochastic_py_environment
        stationary_stochastic_structured_py_environment wheel_py_environment
    """,
)
