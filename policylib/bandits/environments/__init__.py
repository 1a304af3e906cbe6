"""Bandit environments: stationary, drifting, piecewise, wheel, Bernoulli, per-arm.

Each in its module, as in TF-Agents; modules load on first use.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        bandit_py_environment bandit_tf_environment
        bernoulli_action_mask_tf_environment bernoulli_py_environment
        drifting_linear_environment environment_utilities
        non_stationary_stochastic_environment piecewise_bernoulli_py_environment
        piecewise_stochastic_environment random_bandit_environment
        stationary_stochastic_per_arm_py_environment
        stationary_stochastic_py_environment
        stationary_stochastic_structured_py_environment wheel_py_environment
    """,
)
