"""`BanditTFEnvironment`: the base class of in-graph bandit environments.

Every bandit step is a one-step episode: `reset` returns a FIRST time step
with a batch of contexts, `step(actions)` a LAST one with their rewards and
the next contexts. Subclasses implement `_observe` (draw contexts) and
`_apply_action` (reward the actions for the last contexts).

    env = MyBanditEnvironment(...)
    time_step = env.reset()
    for _ in range(num_steps):
        time_step = env.step(policy.action(time_step).action)

The current time step is kept in variables, so `current_time_step()` returns
what the last `reset` or `step` produced (resetting first if none did).
"""

from __future__ import annotations

import abc
import operator
from typing import ClassVar

import tensorflow as tf

from policylib.base import nest_utils
from policylib.environments import tf_environment
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["BanditTFEnvironment"]


def _positive_int(value: object, what: str) -> int:
    """`value` as an int; ValueError naming `what` unless it is an int >= 1."""
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        number = 0
    if isinstance(value, bool) or number < 1:
        raise ValueError(f"{what} must be a positive int; got {value!r}.")
    return number


class BanditTFEnvironment(tf_environment.TFEnvironment):
    """Base class of TensorFlow bandit environments.

    Args:
      time_step_spec: `TimeStep` of `TensorSpec`s of one (unbatched) time step.
      action_spec: nest of `BoundedTensorSpec`s of one action (None allowed for
        environments that ignore actions).
      batch_size: number of contexts drawn per step.
      name: the environment's name.

    Raises:
      ValueError: no `time_step_spec`, or a `batch_size` that is not a
        positive int.
    """

    # Every step ends a one-step episode (the drivers read this: see
    # `policylib.drivers.dynamic_step_driver.is_bandit_env`).
    one_step_episodes: ClassVar[bool] = True

    def __init__(
        self,
        time_step_spec: ts.TimeStep | None = None,
        action_spec: types.NestedTensorSpec | None = None,
        batch_size: int = 1,
        name: str | None = None,
    ):
        if time_step_spec is None:
            raise ValueError(f"{type(self).__name__} needs a time_step_spec; got None.")
        batch_size = _positive_int(batch_size, "batch_size")
        self._reset_called = tf.Variable(False, trainable=False, name="reset_called")
        variables = [
            common.create_variable(
                path or "spec_var",
                0,
                shape=[batch_size, *spec.shape.as_list()],
                dtype=spec.dtype,
            )
            for path, spec in nest_utils.flatten_with_joined_paths(time_step_spec)
        ]
        self._time_step_variables = tf.nest.pack_sequence_as(time_step_spec, variables)
        self._name = name
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            batch_size=batch_size,
        )

    @property
    def name(self) -> str | None:
        return self._name

    def _store(self, time_step: ts.TimeStep) -> ts.TimeStep:
        """Casts `time_step` to the spec's dtypes, keeps it in the variables, returns it."""
        try:
            tf.nest.assert_same_structure(time_step, self._time_step_variables)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"{type(self).__name__}: the time step does not match time_step_spec "
                f"{self.time_step_spec()}: {e}"
            ) from None
        time_step = tf.nest.map_structure(
            lambda value, var: tf.cast(value, var.dtype),
            time_step,
            self._time_step_variables,
        )
        tf.nest.map_structure(
            lambda var, value: var.assign(value), self._time_step_variables, time_step
        )
        return time_step

    @common.function
    def _current_time_step(self) -> ts.TimeStep:
        return tf.cond(
            self._reset_called,
            lambda: tf.nest.map_structure(tf.identity, self._time_step_variables),
            self.reset,
        )

    @common.function
    def _reset(self) -> ts.TimeStep:
        first = ts.restart(
            self._observe(),
            batch_size=self.batch_size,
            reward_spec=self.time_step_spec().reward,
        )
        self._reset_called.assign(True)
        return self._store(first)

    @common.function
    def _step(self, action: types.NestedTensor) -> ts.TimeStep:
        reward = self._apply_action(action)
        return self._store(ts.termination(self._observe(), reward))

    @abc.abstractmethod
    def _apply_action(self, action: types.NestedTensor) -> types.NestedTensor:
        """The `[batch_size, ...]` rewards of `action` for the last contexts."""

    @abc.abstractmethod
    def _observe(self) -> types.NestedTensor:
        """Draws and returns the next `[batch_size, ...]` contexts."""
