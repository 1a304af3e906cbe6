"""`RandomBanditEnvironment`: contexts and rewards drawn from distributions.

Actions have no effect: every step's rewards are fresh draws. Useful to test
agents, drivers and metrics end to end.

    env = RandomBanditEnvironment(
        tfd.Independent(tfd.Normal(tf.zeros([8, 3]), tf.ones([8, 3]))),
        tfd.Normal(tf.zeros([8]), tf.ones([8])),
    )
    env.batch_size          # 8
    env.observation_spec()  # TensorSpec(shape=(3,), dtype=tf.float32, ...)
"""

from __future__ import annotations

import tensorflow as tf

from policylib.bandits.environments import bandit_tf_environment
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["RandomBanditEnvironment"]


def _batch_rank_error(what: str, batch_shape: tf.TensorShape) -> ValueError:
    return ValueError(
        f"`{what}` must have batch shape with length 1 ([batch_size]); got "
        f"{batch_shape}. `tfp.distributions.Independent` moves batch dims into "
        "the event shape."
    )


class RandomBanditEnvironment(bandit_tf_environment.BanditTFEnvironment):
    """Draws each batch of contexts and of rewards from a distribution.

    Both distributions have batch shape `[batch_size]`: a batch of contexts is
    one draw of `observation_distribution` (its event shape is the context
    shape) and a batch of rewards one draw of `reward_distribution` (scalar
    float32 events).

    Args:
      observation_distribution: a `tfp.distributions.Distribution` of contexts.
      reward_distribution: a `tfp.distributions.Distribution` of float32 rewards.
      action_spec: the spec of the (ignored) actions.

    Raises:
      ValueError: a batch shape that is not `[batch_size]`, different batch
        sizes, non-scalar reward events or non-float32 rewards.
    """

    def __init__(
        self,
        observation_distribution: types.Distribution,
        reward_distribution: types.Distribution,
        action_spec: types.TensorSpec | None = None,
    ):
        observation_batch_shape = observation_distribution.batch_shape
        reward_batch_shape = reward_distribution.batch_shape
        if observation_batch_shape.rank != 1:
            raise _batch_rank_error("observation_distribution", observation_batch_shape)
        if reward_batch_shape.rank != 1:
            raise _batch_rank_error("reward_distribution", reward_batch_shape)
        if reward_distribution.event_shape.rank != 0:
            raise ValueError(
                "`reward_distribution` must have event_shape (); got "
                f"{reward_distribution.event_shape}."
            )
        if reward_distribution.dtype != tf.float32:
            raise ValueError(
                "`reward_distribution` must have dtype float32; got "
                f"{reward_distribution.dtype}."
            )
        if not observation_batch_shape.is_compatible_with(reward_batch_shape):
            raise ValueError(
                "`reward_distribution` and `observation_distribution` must have the "
                f"same batch shape; got {reward_batch_shape} and "
                f"{observation_batch_shape}."
            )
        batch_size = tf.compat.dimension_value(observation_batch_shape[0])
        if batch_size is None:
            batch_size = tf.compat.dimension_value(reward_batch_shape[0])
        if batch_size is None:
            raise ValueError(
                "The batch size of `observation_distribution` and "
                "`reward_distribution` must be known; got batch shapes "
                f"{observation_batch_shape} and {reward_batch_shape}."
            )
        self._observation_distribution = observation_distribution
        self._reward_distribution = reward_distribution
        observation_spec = tensor_spec.TensorSpec(
            shape=observation_distribution.event_shape,
            dtype=observation_distribution.dtype,
            name="observation",
        )
        super().__init__(
            time_step_spec=ts.time_step_spec(observation_spec),
            action_spec=action_spec,
            batch_size=batch_size,
        )

    def _apply_action(self, action: types.NestedTensor) -> types.NestedTensor:
        del action  # Rewards do not depend on the action.
        return self._reward_distribution.sample()

    def _observe(self) -> types.NestedTensor:
        return self._observation_distribution.sample()
