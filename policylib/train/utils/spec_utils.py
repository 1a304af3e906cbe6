"""Tensor specs an Actor–Learner script needs, read off an environment and a policy."""

from __future__ import annotations

from typing import Any

from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types

__all__ = ["get_collect_data_spec_from_policy_and_env", "get_tensor_specs"]


def get_tensor_specs(
    env: Any,
) -> tuple[types.NestedTensorSpec, types.NestedTensorSpec, ts.TimeStep]:
    """The observation, action and time-step specs of `env`, as `TensorSpec`s.

    Args:
      env: a Python or TF environment (anything with `observation_spec()` and
        `action_spec()`).

    Returns:
      `(observation_spec, action_spec, time_step_spec)`.
    """
    observation_spec = tensor_spec.from_spec(env.observation_spec())
    action_spec = tensor_spec.from_spec(env.action_spec())
    return observation_spec, action_spec, ts.time_step_spec(observation_spec)


def get_collect_data_spec_from_policy_and_env(
    env: Any, policy: Any
) -> trajectory.Trajectory:
    """The `Trajectory` spec that collecting with `policy` in `env` yields.

    Lets a collection job size its replay buffer from a policy alone (one loaded
    from a SavedModel, say), without building the agent.

    Args:
      env: the environment collected from.
      policy: the collecting policy (its `policy_step_spec` gives action and info).
    """
    observation_spec = tensor_spec.from_spec(env.observation_spec())
    time_step_spec = ts.time_step_spec(observation_spec)
    policy_step_spec = tensor_spec.from_spec(policy.policy_step_spec)
    return trajectory.from_transition(time_step_spec, policy_step_spec, time_step_spec)
