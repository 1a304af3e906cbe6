"""A linear bandit whose reward parameters slowly rotate.

At time `t` the rewards of all arms for a context `x` are

    rewards(t) = x @ W(t) + b(t)

`W(t)` is `W(t - 1)` rotated by a random angle in the plane of two adjacent
context coordinates (a Givens rotation), so it drifts while its norm, and with
it the range of rewards, stays fixed. `b(t)` is drawn afresh at every step.
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.bandits.environments import non_stationary_stochastic_environment as nsse
from policylib.typing import types

__all__ = ["DriftingLinearDynamics", "DriftingLinearEnvironment"]


def _givens_rotation(
    cos_theta: tf.Tensor, sin_theta: tf.Tensor, i: tf.Tensor, j: tf.Tensor, dim: int
) -> tf.Tensor:
    """The `[dim, dim]` rotation by theta in the plane of coordinates `i` and `j`.

    Left-multiplying a matrix by it replaces rows `i` and `j` with
    `cos * row_i - sin * row_j` and `sin * row_i + cos * row_j`.
    """
    e_i = tf.one_hot(i, dim, dtype=cos_theta.dtype)
    e_j = tf.one_hot(j, dim, dtype=cos_theta.dtype)

    def outer(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        return a[:, None] * b[None, :]

    return (
        tf.eye(dim, dtype=cos_theta.dtype)
        + (cos_theta - 1.0) * (outer(e_i, e_i) + outer(e_j, e_j))
        + sin_theta * (outer(e_j, e_i) - outer(e_i, e_j))
    )


@gin.configurable
class DriftingLinearDynamics(nsse._LinearDynamics):
    """Linear rewards whose matrix rotates by a random angle at every step.

    Args:
      observation_distribution: draws `[batch_size, observation_dim]` float32
        contexts; both sizes are read from its batch shape.
      observation_to_reward_distribution: draws the initial
        `[observation_dim, num_actions]` float32 matrix `W`.
      drift_distribution: a scalar float32 distribution of rotation angles.
      additive_reward_distribution: draws the `[num_actions]` float32 offsets
        `b`, afresh each step (the non-contextual part of the reward).

    Raises:
      ValueError: batch shapes or dtypes that do not fit together (the
        message names the distribution).
    """

    def __init__(
        self,
        observation_distribution: types.Distribution,
        observation_to_reward_distribution: types.Distribution,
        drift_distribution: types.Distribution,
        additive_reward_distribution: types.Distribution,
    ):
        nsse._check_scalar_distribution(drift_distribution, "drift_distribution")
        super().__init__(
            observation_distribution,
            observation_to_reward_distribution,
            additive_reward_distribution,
        )
        self._drift_distribution = drift_distribution

    def reward(
        self, observation: types.NestedTensor, env_time: types.Int
    ) -> types.NestedTensor:
        del env_time  # The drift is the same at every step.
        dim = self._observation_dim
        if dim > 1:  # A single coordinate has no plane to rotate in.
            theta = tf.cast(
                tf.reshape(self._drift_distribution.sample(), []), tf.float32
            )
            i = tf.random.uniform([], minval=0, maxval=dim - 1, dtype=tf.int32)
            rotation = _givens_rotation(tf.cos(theta), tf.sin(theta), i, i + 1, dim)
            self._current_observation_to_reward.assign(
                tf.matmul(rotation, self._current_observation_to_reward)
            )
        self._current_additive_reward.assign(
            self._additive_reward_distribution.sample()
        )
        return (
            tf.matmul(observation, self._current_observation_to_reward)
            + self._current_additive_reward.read_value()
        )


@gin.configurable
class DriftingLinearEnvironment(nsse.NonStationaryStochasticEnvironment):
    """A `NonStationaryStochasticEnvironment` with `DriftingLinearDynamics`.

    Args:
      observation_distribution, observation_to_reward_distribution, drift_distribution, additive_reward_distribution: see
        `DriftingLinearDynamics`.
    """

    def __init__(
        self,
        observation_distribution: types.Distribution,
        observation_to_reward_distribution: types.Distribution,
        drift_distribution: types.Distribution,
        additive_reward_distribution: types.Distribution,
    ):
        super().__init__(
            DriftingLinearDynamics(
                observation_distribution,
                observation_to_reward_distribution,
                drift_distribution,
                additive_reward_distribution,
            )
        )
