"""`RandomTFEnvironment`: random in-graph time steps, for tests and benchmarks."""

from __future__ import annotations

import tensorflow as tf

from policylib.base import nest_utils
from policylib.environments import tf_environment
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["RandomTFEnvironment"]


class RandomTFEnvironment(tf_environment.TFEnvironment):
    """Samples observations and rewards from the specs; episodes end at random.

    The current time step lives in variables, so `current_time_step` returns
    what the last `reset` or `step` produced. A step after a LAST step resets.

    Args:
      time_step_spec: `TimeStep` of `TensorSpec`s.
      action_spec: nest of `TensorSpec`s actions must match.
      batch_size: number of environments in the batch.
      episode_end_probability: chance that a step ends the episode (for the
        whole batch at once).
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        batch_size: int = 1,
        episode_end_probability: float = 0.1,
    ):
        super().__init__(time_step_spec, action_spec, batch_size=batch_size)
        self._episode_end_probability = episode_end_probability
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

    def _current_time_step(self) -> ts.TimeStep:
        return tf.nest.map_structure(tf.identity, self._time_step_variables)

    def _assign(self, time_step: ts.TimeStep) -> None:
        tf.nest.map_structure(
            lambda var, value: var.assign(value), self._time_step_variables, time_step
        )

    def _sample(self) -> tuple[types.NestedTensor, types.NestedTensor]:
        outer = (self.batch_size,)
        spec = self._time_step_spec
        return (
            tensor_spec.sample_spec_nest(spec.observation, outer_dims=outer),
            tensor_spec.sample_spec_nest(spec.reward, outer_dims=outer),
        )

    @common.function
    def _reset(self) -> ts.TimeStep:
        observation, _ = self._sample()
        self._assign(
            ts.restart(
                observation, self.batch_size, reward_spec=self._time_step_spec.reward
            )
        )
        return self._current_time_step()

    @common.function(autograph=True)
    def _step(self, action: types.NestedTensor) -> ts.TimeStep:
        nest_utils.assert_same_structure(action, self._action_spec)
        for spec, value in zip(
            tf.nest.flatten(self._action_spec), tf.nest.flatten(action)
        ):
            if not spec.shape.is_compatible_with(value.shape[1:]):
                raise ValueError(
                    f"Action of shape {value.shape} does not match the action spec "
                    f"{spec} with a batch dim."
                )
        if self._time_step_variables.is_last()[0]:
            return self.reset()
        observation, reward = self._sample()
        if tf.random.uniform(()) < self._episode_end_probability:
            time_step = ts.termination(observation, reward)
        else:
            time_step = ts.transition(observation, reward)
        self._assign(time_step)
        return time_step
