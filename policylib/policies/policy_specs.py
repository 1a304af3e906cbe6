"""`PolicySpecs`: the spec properties shared by `PyPolicy` and `TFPolicy`.

Both hierarchies describe their inputs and outputs the same way; only the
kind of spec differs (array specs vs. tensor specs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from policylib.base import nest_utils
from policylib.trajectories import policy_step, trajectory

__all__ = ["PolicySpecs"]


class PolicySpecs:
    """Read-only spec properties; a policy's constructor calls `_setup_specs`."""

    def _setup_specs(
        self,
        time_step_spec: Any,
        action_spec: Any,
        policy_state_spec: Any,
        info_spec: Any,
        observation_and_action_constraint_splitter: Any,
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
    def time_step_spec(self) -> Any:
        return self._time_step_spec

    @property
    def action_spec(self) -> Any:
        return self._action_spec

    @property
    def policy_state_spec(self) -> Any:
        return self._policy_state_spec

    @property
    def info_spec(self) -> Any:
        return self._info_spec

    @property
    def policy_step_spec(self) -> policy_step.PolicyStep:
        return self._policy_step_spec

    @property
    def trajectory_spec(self) -> trajectory.Trajectory:
        return self._trajectory_spec

    @property
    def collect_data_spec(self) -> Any:
        return self._collect_data_spec

    @property
    def observation_and_action_constraint_splitter(self) -> Any:
        return self._observation_and_action_constraint_splitter

    def _split_observation(self, observation: Any) -> tuple[Any, Any]:
        """`(observation, action_mask)` by the policy's splitter; the mask is None without one."""
        splitter = self._observation_and_action_constraint_splitter
        if splitter is None:
            return observation, None
        return splitter(observation)


def _check_bounds(action_spec: Any) -> None:
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
