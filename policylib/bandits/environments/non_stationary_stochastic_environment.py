"""A bandit environment whose contexts and rewards change with time.

`NonStationaryStochasticEnvironment` keeps an int64 clock, `env_time`, that
advances by `batch_size` after each step's rewards are computed (each batch
entry is one round). An `EnvironmentDynamics` says what the contexts and the
rewards of all arms are at a given time; the environment hands out the
reward of the arm each batch entry chose.
"""

from __future__ import annotations

import abc

import gin
import tensorflow as tf

from policylib.bandits.environments import bandit_tf_environment
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["EnvironmentDynamics", "NonStationaryStochasticEnvironment"]


@gin.configurable
class EnvironmentDynamics(tf.Module, metaclass=abc.ABCMeta):
    """How a non-stationary environment's contexts and rewards evolve.

    Subclasses create their variables in the constructor (so they exist in
    both graph and eager mode) and implement the properties and methods below.
    """

    @property
    @abc.abstractmethod
    def batch_size(self) -> int:
        """Number of contexts (and rewards) per step."""

    @property
    @abc.abstractmethod
    def observation_spec(self) -> types.TensorSpec:
        """Spec of one (unbatched) context."""

    @property
    @abc.abstractmethod
    def action_spec(self) -> types.BoundedTensorSpec:
        """Spec of one action."""

    @abc.abstractmethod
    def observation(self, env_time: types.Int) -> types.NestedTensor:
        """The `[batch_size, ...]` contexts at `env_time` (an int64 scalar)."""

    @abc.abstractmethod
    def reward(
        self, observation: types.NestedTensor, env_time: types.Int
    ) -> types.NestedTensor:
        """The `[batch_size, num_actions]` rewards of every arm for `observation`."""


def _variables_for(
    specs: types.NestedTensorSpec, batch_size: int
) -> types.NestedTensor:
    """One zero variable of shape `[batch_size, *spec.shape]` per spec leaf."""
    return tf.nest.map_structure(
        lambda spec: common.create_variable(
            name=spec.name or "observation",
            dtype=spec.dtype,
            shape=[batch_size, *spec.shape.as_list()],
        ),
        specs,
    )


@gin.configurable
class NonStationaryStochasticEnvironment(bandit_tf_environment.BanditTFEnvironment):
    """A bandit environment driven by an `EnvironmentDynamics`.

    Args:
      environment_dynamics: gives the batch size, the specs, and the contexts
        and rewards at each time.

    Raises:
      TypeError: `environment_dynamics` is not an `EnvironmentDynamics`.
    """

    def __init__(self, environment_dynamics: EnvironmentDynamics):
        if not isinstance(environment_dynamics, EnvironmentDynamics):
            raise TypeError(
                "environment_dynamics must be an EnvironmentDynamics; got "
                f"{type(environment_dynamics).__name__}."
            )
        self._environment_dynamics = environment_dynamics
        self._env_time = tf.Variable(
            0, trainable=False, name="env_time", dtype=tf.int64
        )
        observation_spec = environment_dynamics.observation_spec
        self._observation = _variables_for(
            observation_spec, environment_dynamics.batch_size
        )
        super().__init__(
            time_step_spec=ts.time_step_spec(observation_spec),
            action_spec=environment_dynamics.action_spec,
            batch_size=environment_dynamics.batch_size,
        )

    @property
    def environment_dynamics(self) -> EnvironmentDynamics:
        return self._environment_dynamics

    def _observe(self) -> types.NestedTensor:
        tf.nest.map_structure(
            lambda var, value: var.assign(value),
            self._observation,
            self._environment_dynamics.observation(self._env_time.read_value()),
        )
        return tf.nest.map_structure(lambda var: var.read_value(), self._observation)

    def _apply_action(self, action: types.NestedTensor) -> types.NestedTensor:
        observation = tf.nest.map_structure(
            lambda var: var.read_value(), self._observation
        )
        all_rewards = self._environment_dynamics.reward(
            observation, self._env_time.read_value()
        )
        self._env_time.assign_add(self._environment_dynamics.batch_size)
        action = tf.cast(action, tf.int32)
        return tf.gather(all_rewards, action, axis=1, batch_dims=1)


def _check_scalar_distribution(distribution: types.Distribution, what: str) -> None:
    """ValueError naming `what` unless `distribution` draws one number."""
    for kind in ("batch_shape", "event_shape"):
        shape = getattr(distribution, kind)
        if shape.rank is not None and shape.num_elements() != 1:
            raise ValueError(
                f"`{what}` must be a scalar distribution; got {kind} {shape}."
            )


class _LinearDynamics(EnvironmentDynamics):
    """Shared part of the linear dynamics: `reward = context @ W + b`.

    Checks the shapes of the distributions, keeps `W` and `b` in variables
    (`_current_observation_to_reward`, `_current_additive_reward`) and
    answers the optimal action and reward for the current `W`. The additive
    reward `b` is treated as noise there, so the optimum is `argmax(context @ W)`.

    Args:
      observation_distribution: batch shape `[batch_size, observation_dim]`,
        float32.
      observation_to_reward_distribution: batch shape
        `[observation_dim, num_actions]`, float32.
      additive_reward_distribution: batch shape `[num_actions]`, float32.
    """

    def __init__(
        self,
        observation_distribution: types.Distribution,
        observation_to_reward_distribution: types.Distribution,
        additive_reward_distribution: types.Distribution,
    ):
        super().__init__()
        observation_shape = observation_distribution.batch_shape
        reward_shape = additive_reward_distribution.batch_shape
        if observation_shape.rank != 2 or None in observation_shape.as_list():
            raise ValueError(
                "`observation_distribution` must have a fully known batch shape "
                f"with length 2 ([batch_size, observation_dim]); got {observation_shape}."
            )
        if reward_shape.rank != 1 or None in reward_shape.as_list():
            raise ValueError(
                "`additive_reward_distribution` must have a fully known batch shape "
                f"with length 1 ([num_actions]); got {reward_shape}."
            )
        for what, distribution in (
            ("observation_distribution", observation_distribution),
            ("observation_to_reward_distribution", observation_to_reward_distribution),
            ("additive_reward_distribution", additive_reward_distribution),
        ):
            if distribution.dtype != tf.float32:
                raise ValueError(
                    f"`{what}` must have dtype float32; got {distribution.dtype}."
                )
        expected = [observation_shape[1], reward_shape[0]]
        got = observation_to_reward_distribution.batch_shape
        if got.rank != 2 or not got.is_compatible_with(expected):
            raise ValueError(
                "`observation_to_reward_distribution` must have batch shape "
                f"[observation_dim, num_actions] = {expected}; got {got}."
            )
        self._observation_distribution = observation_distribution
        self._observation_to_reward_distribution = observation_to_reward_distribution
        self._additive_reward_distribution = additive_reward_distribution
        self._observation_dim: int = observation_shape.as_list()[1]
        self._num_actions: int = reward_shape.as_list()[0]
        self._current_observation_to_reward = tf.Variable(
            observation_to_reward_distribution.sample(),
            dtype=tf.float32,
            name="observation_to_reward",
        )
        self._current_additive_reward = tf.Variable(
            additive_reward_distribution.sample(),
            dtype=tf.float32,
            name="additive_reward",
        )

    @property
    def batch_size(self) -> int:
        return tf.compat.dimension_value(self._observation_distribution.batch_shape[0])

    @property
    def observation_spec(self) -> types.TensorSpec:
        return tf.TensorSpec(
            shape=self._observation_distribution.batch_shape[1:],
            dtype=self._observation_distribution.dtype,
            name="observation",
        )

    @property
    def action_spec(self) -> types.BoundedTensorSpec:
        return tensor_spec.BoundedTensorSpec(
            shape=(),
            dtype=tf.int32,
            minimum=0,
            maximum=self._num_actions - 1,
            name="action",
        )

    def observation(self, env_time: types.Int) -> types.NestedTensor:
        del env_time  # The contexts are i.i.d.; only the rewards drift.
        return self._observation_distribution.sample()

    def _expected_rewards(self, observation: types.Tensor) -> tf.Tensor:
        return tf.matmul(observation, self._current_observation_to_reward)

    def compute_optimal_reward(self, observation: types.NestedTensor) -> tf.Tensor:
        """The best arm's `context @ W` for each context of the batch."""
        return tf.reduce_max(self._expected_rewards(observation), axis=-1)

    def compute_optimal_action(self, observation: types.NestedTensor) -> tf.Tensor:
        """The int32 arm that maximises `context @ W`, per context."""
        return tf.argmax(
            self._expected_rewards(observation), axis=-1, output_type=tf.int32
        )
