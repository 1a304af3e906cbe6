"""Mocks for driver tests: a counting environment, stateful policies, counters.

The policies' state counts steps since the episode began; the action is
`state % 2 + 1` and the info `2 * action`, so the trajectories a driver
records can be predicted exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from policylib.drivers import driver
from policylib.environments import py_environment
from policylib.policies import py_policy, tf_policy
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = [
    "NumEpisodesObserver",
    "NumStepsObserver",
    "NumStepsTransitionObserver",
    "PyEnvironmentMock",
    "PyPolicyMock",
    "TFPolicyMock",
    "make_random_trajectory",
    "make_replay_buffer",
]


class TrajectoryRecorder(tf.Module):
    """Records batched trajectories in variables, in order (a minimal replay buffer).

    `add_batch(items)` appends one time step per batch entry; `gather_all()`
    returns everything added, shaped [batch, time, ...].
    """

    def __init__(
        self,
        data_spec: types.NestedTensorSpec,
        batch_size: int = 1,
        capacity: int = 1000,
    ):
        super().__init__(name="trajectory_recorder")
        self._data_spec = data_spec
        self._capacity = capacity
        self._count = common.create_variable("count", 0, dtype=tf.int32)
        self._storage = [
            tf.Variable(
                tf.zeros([capacity, batch_size, *s.shape], s.dtype), trainable=False
            )
            for s in tf.nest.flatten(data_spec)
        ]

    def add_batch(self, items: types.NestedTensor) -> tf.Operation:
        index = self._count
        writes = [
            var.scatter_nd_update([[index]], [value])
            for var, value in zip(self._storage, tf.nest.flatten(items))
        ]
        with tf.control_dependencies(writes):
            return self._count.assign_add(1).op

    def gather_all(self) -> types.NestedTensor:
        count = self._count.value()
        leaves = [common.transpose_batch_time(var[:count]) for var in self._storage]
        return tf.nest.pack_sequence_as(self._data_spec, leaves)


def make_replay_buffer(policy: tf_policy.TFPolicy) -> TrajectoryRecorder:
    """A `TrajectoryRecorder` of `policy.trajectory_spec` for one environment."""
    return TrajectoryRecorder(policy.trajectory_spec, batch_size=1)


class PyEnvironmentMock(py_environment.PyEnvironment):
    """Adds each action (1 or 2) to a counter; the episode ends at `final_state`.

    Every step has reward 1. A step after the LAST step resets.
    """

    def __init__(self, final_state: int = 3):
        self._state = np.int32(0)
        self._final_state = final_state
        self._action_spec = array_spec.BoundedArraySpec(
            [], np.int32, minimum=1, maximum=2, name="action"
        )
        self._observation_spec = array_spec.ArraySpec([], np.int32, name="observation")
        super().__init__()

    def action_spec(self) -> array_spec.BoundedArraySpec:
        return self._action_spec

    def observation_spec(self) -> array_spec.ArraySpec:
        return self._observation_spec

    def get_info(self) -> dict[str, int]:
        return {"mock": 1}

    def _reset(self) -> ts.TimeStep:
        self._state = np.int32(0)
        return ts.restart(self._state)

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        action = np.asarray(action)
        if action.shape != ():
            raise ValueError(f"Action should be a scalar; got shape {action.shape}.")
        low, high = self._action_spec.minimum, self._action_spec.maximum
        if not low <= action <= high:
            raise ValueError(f"Action should be in [{low}, {high}], but saw: {action}")
        if self._state >= self._final_state:
            return self.reset()
        self._state = np.int32(self._state + action)
        if self._state < self._final_state:
            return ts.transition(self._state, 1.0)
        return ts.termination(self._state, 1.0)


class TFPolicyMock(tf_policy.TFPolicy):
    """A TF policy whose state counts steps from `initial_policy_state` (0s)."""

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        batch_size: int = 1,
        policy_state_spec_name: str = "policy_state_spec",
        policy_state_name: str = "policy_state",
        initial_policy_state: types.NestedTensor | None = None,
    ):
        self._batch_shape = (batch_size,)
        state_spec = tensor_spec.BoundedTensorSpec(
            (), tf.int32, minimum=1, maximum=2, name=policy_state_spec_name
        )
        self._policy_state = common.create_variable(
            name=policy_state_name,
            initial_value=2,
            shape=self._batch_shape,
            dtype=tf.int32,
        )
        if initial_policy_state is None:
            initial_policy_state = tf.zeros([batch_size], tf.int32)
        self._initial_policy_state = initial_policy_state
        super().__init__(time_step_spec, action_spec, state_spec, info_spec=action_spec)

    def _get_initial_state(self, batch_size: types.Int | None) -> types.NestedTensor:
        return self._initial_policy_state

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        del seed
        state = tf.where(time_step.is_first(), self._initial_policy_state, policy_state)
        action = tf.math.floormod(state, 2) + 1
        return policy_step.PolicyStep(action, state + 1, action * 2)

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        raise NotImplementedError("TFPolicyMock has no distribution.")

    def _variables(self) -> tuple:
        return ()


class PyPolicyMock(py_policy.PyPolicy):
    """The Python twin of `TFPolicyMock`; counts `get_initial_state` calls."""

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedArraySpec,
        initial_policy_state: types.NestedArray | None = None,
    ):
        if initial_policy_state is None:
            initial_policy_state = np.int32(2)
        self._initial_policy_state = initial_policy_state
        self.get_initial_state_call_count = 0
        spec = lambda name: array_spec.BoundedArraySpec(  # noqa: E731
            (), np.int32, minimum=1, maximum=2, name=name
        )
        super().__init__(
            time_step_spec,
            action_spec,
            spec("policy_state_spec"),
            spec("policy_info_spec"),
        )

    def _get_initial_state(self, batch_size: int | None = None) -> types.NestedArray:
        self.get_initial_state_call_count += 1
        return self._initial_policy_state

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        first = time_step.is_first()
        state = np.array(policy_state)
        if np.ndim(first) == 0:
            if first:
                state = np.asarray(self._initial_policy_state)
        else:
            state[first] = np.asarray(self._initial_policy_state)[first]
        action = np.int32(state % 2 + 1)
        return policy_step.PolicyStep(action, np.int32(state + 1), np.int32(action * 2))


class _CountingObserver:
    """Adds `count(item)` to an int32 variable for each item observed."""

    def __init__(self, scope: str, name: str):
        with tf.name_scope(scope):
            self._count = common.create_variable(name, 0, shape=[], dtype=tf.int32)

    def _count_of(self, item: Any) -> tf.Tensor:
        raise NotImplementedError

    def __call__(self, item: types.NestedTensor) -> types.NestedTensor:
        with tf.control_dependencies([self._count.assign_add(self._count_of(item))]):
            return tf.nest.map_structure(tf.identity, item)


def _count_alias() -> property:
    """A property for the counter variable, under the name TF-Agents' tests use."""

    def assign(self: _CountingObserver, value: types.Int) -> None:
        self._count.assign(value)

    return property(lambda self: self._count, assign)


class NumStepsObserver(_CountingObserver):
    """Counts non-boundary trajectories (environment steps)."""

    def __init__(self, variable_scope: str = "num_steps_step_observer"):
        super().__init__(variable_scope, "num_steps")

    num_steps = _count_alias()

    def _count_of(self, traj: trajectory.Trajectory) -> tf.Tensor:
        return tf.reduce_sum(tf.cast(~traj.is_boundary(), tf.int32))


class NumStepsTransitionObserver(_CountingObserver):
    """Counts transitions whose next time step is not FIRST."""

    def __init__(self, variable_scope: str = "num_steps_step_observer"):
        super().__init__(variable_scope, "num_steps")

    num_steps = _count_alias()

    def _count_of(self, transition: driver.Transition) -> tf.Tensor:
        next_time_step = transition[2]
        return tf.reduce_sum(tf.cast(~next_time_step.is_first(), tf.int32))


class NumEpisodesObserver(_CountingObserver):
    """Counts boundary trajectories (ended episodes)."""

    def __init__(self, variable_scope: str = "num_episodes_step_observer"):
        super().__init__(variable_scope, "num_episodes")

    num_episodes = _count_alias()

    def _count_of(self, traj: trajectory.Trajectory) -> tf.Tensor:
        return tf.reduce_sum(tf.cast(traj.is_boundary(), tf.int32))


def make_random_trajectory() -> tuple[
    trajectory.Trajectory, ts.TimeStep, tensor_spec.BoundedTensorSpec
]:
    """A [1, 6] trajectory cycling FIRST, MID, LAST, with its specs.

    Returns:
      `(trajectory, time_step_spec, action_spec)`.
    """
    time_step_spec = ts.time_step_spec(
        tensor_spec.TensorSpec([], tf.int32, name="observation")
    )
    action_spec = tensor_spec.BoundedTensorSpec(
        [], tf.int32, minimum=1, maximum=2, name="action"
    )
    outer = [1, 6]
    traj = trajectory.Trajectory(
        step_type=tf.reshape(tf.range(0, 6) % 3, outer),
        observation=tensor_spec.sample_spec_nest(
            time_step_spec.observation, outer_dims=outer
        ),
        action=tensor_spec.sample_bounded_spec(action_spec, outer_dims=outer),
        policy_info=tensor_spec.sample_bounded_spec(action_spec, outer_dims=outer),
        next_step_type=tf.reshape(tf.range(1, 7) % 3, outer),
        reward=tf.zeros(outer, tf.float32),
        discount=tf.ones(outer, tf.float32),
    )
    return traj, time_step_spec, action_spec
