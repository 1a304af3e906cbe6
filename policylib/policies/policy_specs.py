"""`PolicySpecs`: the spec properties shared by `PyPolicy` and `TFPolicy`.

Both hierarchies describe their inputs and outputs the same way; only the
kind of spec differs (array specs vs. tensor specs).
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from policylib.base import nest_utils
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["PolicySpecs", "WrappedSpecs", "wrapped_specs"]


class WrappedSpecs(TypedDict):
    """The spec arguments of a policy's `__init__`, by name."""

    time_step_spec: ts.TimeStep
    action_spec: types.NestedSpec
    policy_state_spec: types.NestedSpec
    info_spec: types.NestedSpec


class PolicySpecs:
    """Read-only spec properties; a policy's constructor calls `_setup_specs`."""

    # Policies with a single action spec read its leaf attributes (`.shape`,
    # `.maximum`), which a nest type would make every one of them cast.
    _action_spec: Any

    def _setup_specs(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedSpec,
        policy_state_spec: types.NestedSpec,
        info_spec: types.NestedSpec,
        observation_and_action_constraint_splitter: types.Splitter,
    ) -> None:
        """Records the specs and derives the policy step, trajectory and collect-data specs."""
        _check_bounds(action_spec)
        self._time_step_spec = time_step_spec
        self._action_spec = action_spec
        self._policy_state_spec = policy_state_spec
        self._info_spec = info_spec
        self._observation_and_action_constraint_splitter = (
            observation_and_action_constraint_splitter
        )
        self._policy_step_spec = policy_step.PolicyStep(
            action=self._action_spec,
            state=self._policy_state_spec,
            info=self._info_spec,
        )
        self._trajectory_spec = trajectory.from_transition(
            self._time_step_spec, self._policy_step_spec, self._time_step_spec
        )
        self._collect_data_spec = self._trajectory_spec

    @property
    def time_step_spec(self) -> ts.TimeStep:
        return self._time_step_spec

    @property
    def action_spec(self) -> types.NestedSpec:
        return self._action_spec

    @property
    def policy_state_spec(self) -> types.NestedSpec:
        return self._policy_state_spec

    @property
    def info_spec(self) -> types.NestedSpec:
        return self._info_spec

    @property
    def policy_step_spec(self) -> policy_step.PolicyStep:
        return self._policy_step_spec

    @property
    def trajectory_spec(self) -> trajectory.Trajectory:
        return self._trajectory_spec

    @property
    def collect_data_spec(self) -> trajectory.Trajectory:
        return self._collect_data_spec

    @property
    def observation_and_action_constraint_splitter(self) -> types.Splitter:
        return self._observation_and_action_constraint_splitter

    def _split_observation(
        self, observation: types.NestedTensorOrArray
    ) -> tuple[types.NestedTensorOrArray, types.TensorOrArray | None]:
        """`(observation, action_mask)` by the policy's splitter; the mask is None without one."""
        splitter = self._observation_and_action_constraint_splitter
        if splitter is None:
            return observation, None
        return splitter(observation)


def wrapped_specs(policy: PolicySpecs) -> WrappedSpecs:
    """The spec arguments of a policy's `__init__` for a policy that wraps `policy`.

    A wrapper (greedy, epsilon-greedy, noise, batched ...) acts in the same
    time steps and returns the same actions, state and info as the policy it
    wraps:

        super().__init__(**policy_specs.wrapped_specs(policy), name=name)
    """
    return {
        "time_step_spec": policy.time_step_spec,
        "action_spec": policy.action_spec,
        "policy_state_spec": policy.policy_state_spec,
        "info_spec": policy.info_spec,
    }


def _check_bounds(action_spec: types.NestedSpec) -> None:
    """Raises ValueError naming the leaf of a bounded action spec whose min > max.

    TensorFlow's `BoundedTensorSpec` accepts such bounds; a policy would then
    clip every action to an empty range.
    """
    for path, spec in nest_utils.flatten_with_joined_paths(action_spec):
        low = getattr(spec, "minimum", None)
        high = getattr(spec, "maximum", None)
        if (
            low is not None
            and high is not None
            and np.any(np.asarray(low) > np.asarray(high))
        ):
            raise ValueError(
                f"action_spec{'.' + path if path else ''} has minimum greater than maximum: "
                f"{spec!r}."
            )
