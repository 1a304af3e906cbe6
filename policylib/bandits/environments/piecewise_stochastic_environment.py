"""A linear bandit whose reward parameters jump at random times.

Time is cut into pieces. Within a piece the rewards of all arms for a context
`x` are `x @ W + b`; when the environment time reaches the end of the current
piece, a new `W`, `b` and piece length are drawn.
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.bandits.environments import non_stationary_stochastic_environment as nsse
from policylib.typing import types

__all__ = ["PiecewiseStationaryDynamics", "PiecewiseStochasticEnvironment"]


@gin.configurable
class PiecewiseStationaryDynamics(nsse._LinearDynamics):
    """Linear rewards that stay fixed within each piece of time.

    The variable `_current_interval` holds the time at which the current piece
    ends. A step whose time is at or past it starts one new piece: the end
    moves on by a fresh draw of `interval_distribution`, and `W` and `b` are
    redrawn.

    Args:
      observation_distribution: draws `[batch_size, observation_dim]` float32
        contexts; both sizes are read from its batch shape.
      interval_distribution: a scalar distribution of piece lengths (cast to
        int64).
      observation_to_reward_distribution: draws the
        `[observation_dim, num_actions]` float32 matrix `W` of each piece.
      additive_reward_distribution: draws the `[num_actions]` float32 offsets
        `b` of each piece.

    Raises:
      ValueError: batch shapes or dtypes that do not fit together (the
        message names the distribution).
    """

    def __init__(
        self,
        observation_distribution: types.Distribution,
        interval_distribution: types.Distribution,
        observation_to_reward_distribution: types.Distribution,
        additive_reward_distribution: types.Distribution,
    ):
        nsse._check_scalar_distribution(interval_distribution, "interval_distribution")
        super().__init__(
            observation_distribution,
            observation_to_reward_distribution,
            additive_reward_distribution,
        )
        self._interval_distribution = interval_distribution
        self._current_interval = tf.Variable(
            self._draw_interval(), dtype=tf.int64, name="interval"
        )

    def _draw_interval(self) -> tf.Tensor:
        return tf.cast(tf.reshape(self._interval_distribution.sample(), []), tf.int64)

    def _parameters(self) -> tuple[tf.Tensor, tf.Tensor]:
        return (
            self._current_observation_to_reward.read_value(),
            self._current_additive_reward.read_value(),
        )

    def _start_new_piece(self) -> tuple[tf.Tensor, tf.Tensor]:
        self._current_interval.assign_add(self._draw_interval())
        self._current_observation_to_reward.assign(
            self._observation_to_reward_distribution.sample()
        )
        self._current_additive_reward.assign(
            self._additive_reward_distribution.sample()
        )
        return self._parameters()

    def reward(
        self, observation: types.NestedTensor, env_time: types.Int
    ) -> types.NestedTensor:
        observation_to_reward, additive_reward = tf.cond(
            tf.cast(env_time, tf.int64) < self._current_interval,
            self._parameters,
            self._start_new_piece,
        )
        return tf.matmul(observation, observation_to_reward) + additive_reward[None, :]


@gin.configurable
class PiecewiseStochasticEnvironment(nsse.NonStationaryStochasticEnvironment):
    """A `NonStationaryStochasticEnvironment` with `PiecewiseStationaryDynamics`.

    Args:
      observation_distribution, interval_distribution, observation_to_reward_distribution, additive_reward_distribution: see
        `PiecewiseStationaryDynamics`.
    """

    def __init__(
        self,
        observation_distribution: types.Distribution,
        interval_distribution: types.Distribution,
        observation_to_reward_distribution: types.Distribution,
        additive_reward_distribution: types.Distribution,
    ):
        super().__init__(
            PiecewiseStationaryDynamics(
                observation_distribution,
                interval_distribution,
                observation_to_reward_distribution,
                additive_reward_distribution,
            )
        )
