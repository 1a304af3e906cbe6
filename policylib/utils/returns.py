"""Discounted returns and episode masks over `[batch, time]` tensors."""

from __future__ import annotations

import tensorflow as tf

from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "compute_returns",
    "discounted_future_sum",
    "discounted_future_sum_masked",
    "get_contiguous_sub_episodes",
    "get_episode_mask",
    "shift_values",
]


def _check_rank_2(values: tf.Tensor) -> None:
    if values.shape.rank != 2:
        raise ValueError(
            f"Input must be rank 2 tensor [batch, time].  Got {values.shape.rank}."
        )


def compute_returns(
    rewards: tf.Tensor, discounts: tf.Tensor, time_major: bool = False
) -> tf.Tensor:
    """`G_t = r_t + d_t * G_{t+1}` (with `G_T = 0`) along the time axis.

    Args:
      rewards, discounts: `[T]`, or `[B, T]` (`[T, B]` if `time_major`).
    """
    rewards.shape.assert_is_compatible_with(discounts.shape)
    if not (rewards.shape.is_fully_defined() and discounts.shape.is_fully_defined()):
        tf.debugging.assert_equal(tf.shape(rewards), tf.shape(discounts))
    transpose = rewards.shape.rank > 1 and not time_major
    if transpose:
        rewards, discounts = tf.transpose(rewards), tf.transpose(discounts)
    returns = tf.scan(
        lambda next_return, rd: next_return * rd[1] + rd[0],
        [rewards, discounts],
        initializer=tf.zeros_like(rewards[0]),
        reverse=True,
    )
    return tf.transpose(returns) if transpose else returns


def discounted_future_sum(
    values: tf.Tensor, gamma: types.Float, num_steps: types.Int
) -> tf.Tensor:
    """`sum_{k<num_steps} gamma^k * values[:, t+k]` for every `t` (zeros past the end)."""
    _check_rank_2(values)
    batch_size, total_steps = values.shape.as_list()
    num_steps = tf.minimum(num_steps, total_steps)
    kernel = tf.reshape(gamma ** tf.cast(tf.range(num_steps), tf.float32), [-1, 1, 1])
    padded = tf.concat([values, tf.zeros([batch_size, num_steps - 1])], 1)
    return tf.squeeze(
        tf.nn.conv1d(tf.expand_dims(padded, -1), kernel, stride=1, padding="VALID"), -1
    )


def discounted_future_sum_masked(
    values: tf.Tensor,
    gamma: types.Float,
    num_steps: types.Int,
    episode_lengths: types.Tensor,
) -> tf.Tensor:
    """`discounted_future_sum` with values past each row's episode length zeroed."""
    _check_rank_2(values)
    total_steps = tf.compat.dimension_value(values.shape[1])
    if total_steps is None:
        raise ValueError(
            "The time dimension of values[batch, time] must be fully defined."
        )
    mask = tf.cast(tf.sequence_mask(episode_lengths, total_steps), tf.float32)
    return discounted_future_sum(values * mask, gamma, num_steps)


def shift_values(
    values: tf.Tensor,
    gamma: types.Float,
    num_steps: types.Int,
    final_values: types.Tensor | None = None,
) -> tf.Tensor:
    """`gamma^n * values[:, t+n]`, padding past the end with discounted `final_values`."""
    _check_rank_2(values)
    batch_size, total_steps = values.shape.as_list()
    num_steps = tf.minimum(num_steps, total_steps)
    if final_values is None:
        final_values = tf.zeros([batch_size])
    exponents = tf.expand_dims(tf.cast(tf.range(num_steps, 0, -1), tf.float32), 0)
    final_pad = tf.expand_dims(final_values, 1) * gamma**exponents
    return tf.concat(
        [gamma ** tf.cast(num_steps, tf.float32) * values[:, num_steps:], final_pad], 1
    )


def get_contiguous_sub_episodes(next_time_steps_discount: tf.Tensor) -> tf.Tensor:
    """1.0 up to and including the first zero discount of each row, 0.0 after."""
    episode_end = tf.equal(
        next_time_steps_discount, tf.constant(0, dtype=next_time_steps_discount.dtype)
    )
    return tf.math.cumprod(
        1.0 - tf.cast(episode_end, tf.float32), axis=1, exclusive=True
    )


def get_episode_mask(time_steps: ts.TimeStep) -> tf.Tensor:
    """1.0 for steps that are not LAST."""
    return tf.cast(tf.not_equal(time_steps.step_type, ts.StepType.LAST), tf.float32)
