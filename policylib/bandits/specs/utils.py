"""TF-Agents' older import path for the per-arm spec helpers.

Everything is `policylib.specs.bandit_spec_utils`; this module only re-exports it.
"""

from policylib.specs.bandit_spec_utils import (
    CONSTRAINTS_SPEC_KEY,
    GLOBAL_FEATURE_KEY,
    NUM_ACTIONS_FEATURE_KEY,
    PER_ARM_FEATURE_KEY,
    REWARD_SPEC_KEY,
    create_per_arm_observation_spec,
    drop_arm_observation,
    get_context_dims_from_spec,
)

__all__ = [
    "CONSTRAINTS_SPEC_KEY",
    "GLOBAL_FEATURE_KEY",
    "NUM_ACTIONS_FEATURE_KEY",
    "PER_ARM_FEATURE_KEY",
    "REWARD_SPEC_KEY",
    "create_per_arm_observation_spec",
    "drop_arm_observation",
    "get_context_dims_from_spec",
]
