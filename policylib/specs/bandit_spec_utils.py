"""Keys and helpers for per-arm (bandit) observation specs.

A per-arm observation is a dict with a global feature vector and one feature
vector per arm; `RandomTFPolicy(accepts_per_arm_features=True)` reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tensorflow as tf

from policylib.specs import tensor_spec

if TYPE_CHECKING:
    from policylib.trajectories.trajectory import Trajectory


GLOBAL_FEATURE_KEY = "global"
PER_ARM_FEATURE_KEY = "per_arm"
NUM_ACTIONS_FEATURE_KEY = "num_actions"
REWARD_SPEC_KEY = "reward"
CONSTRAINTS_SPEC_KEY = "constraint"

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


def create_per_arm_observation_spec(
    global_dim: int,
    per_arm_dim: int,
    max_num_actions: int | None = None,
    add_num_actions_feature: bool = False,
) -> dict[str, tf.TensorSpec]:
    """The observation spec of a per-arm bandit problem.

    Args:
      global_dim: size of the global feature vector.
      per_arm_dim: size of each arm's feature vector.
      max_num_actions: number of arms (rows of the per-arm features).
      add_num_actions_feature: also expose how many arms are available.
    """
    spec = {
        GLOBAL_FEATURE_KEY: tensor_spec.TensorSpec([global_dim], tf.float32),
        PER_ARM_FEATURE_KEY: tensor_spec.TensorSpec(
            [max_num_actions, per_arm_dim], tf.float32
        ),
    }
    if add_num_actions_feature:
        spec[NUM_ACTIONS_FEATURE_KEY] = tensor_spec.BoundedTensorSpec(
            (), minimum=1, maximum=max_num_actions, dtype=tf.int32
        )
    return spec


def get_context_dims_from_spec(
    context_spec: Any, accepts_per_arm_features: bool
) -> tuple[int, int]:
    """(global dim, per-arm dim) of a context spec; per-arm dim is 0 when absent."""
    if accepts_per_arm_features:
        global_dim = context_spec[GLOBAL_FEATURE_KEY].shape.as_list()[0]
        per_arm_dim = context_spec[PER_ARM_FEATURE_KEY].shape.as_list()[1]
        return global_dim, per_arm_dim
    return tf.TensorShape(context_spec.shape).as_list()[0], 0


def drop_arm_observation(trajectory: Trajectory) -> Trajectory:
    """Removes the per-arm features from a trajectory's observation."""
    observation = dict(trajectory.observation)
    observation.pop(PER_ARM_FEATURE_KEY, None)
    return trajectory._replace(observation=observation)
