"""Returns and advantages over trajectories: discounted returns and GAE.

Inputs are time-major `[T, B]` (or `[T]`) unless `time_major=False`
(`[B, T]`). A discount of 0 ends the accumulation (episode boundaries).
"""

from __future__ import annotations

import tensorflow as tf

from policylib.typing import types

__all__ = ["discounted_return", "generalized_advantage_estimation"]


def _time_major(*tensors: types.Tensor) -> list:
    return [tf.transpose(t) for t in tensors]


def discounted_return(
    rewards: types.Tensor,
    discounts: types.Tensor,
    final_value: types.Tensor | None = None,
    time_major: bool = True,
    provide_all_returns: bool = True,
) -> tf.Tensor:
    """`G_t = r_t + d_t * G_{t+1}`, with `G_T = final_value` (default 0).

    Args:
      rewards: `[T, B]` (or `[T]`) rewards.
      discounts: discounts of the same shape.
      final_value: `[B]` bootstrap value after the last step.
      time_major: False for `[B, T]` inputs (and outputs).
      provide_all_returns: every `G_t` (`[T, B]`); False: only `G_0` (`[B]`).

    Returns:
      The returns, without gradient.
    """
    rewards = tf.convert_to_tensor(rewards)
    discounts = tf.convert_to_tensor(discounts)
    if not time_major:
        rewards, discounts = _time_major(rewards, discounts)
    if final_value is None:
        final_value = tf.zeros_like(rewards[-1])

    def accumulate(
        later: tf.Tensor, reward_and_discount: tuple[tf.Tensor, tf.Tensor]
    ) -> tf.Tensor:
        reward, discount = reward_and_discount
        return reward + discount * later

    if not provide_all_returns:
        return tf.stop_gradient(
            tf.foldr(accumulate, (rewards, discounts), initializer=final_value)
        )
    returns = tf.scan(
        accumulate, (rewards, discounts), initializer=final_value, reverse=True
    )
    if not time_major:
        returns = tf.transpose(returns)
    return tf.stop_gradient(returns)


def generalized_advantage_estimation(
    values: types.Tensor,
    final_value: types.Tensor | None,
    discounts: types.Tensor,
    rewards: types.Tensor,
    td_lambda: types.Float = 1.0,
    time_major: bool = True,
) -> tf.Tensor:
    """GAE (Schulman et al., 2015): `A_t = delta_t + lambda * d_t * A_{t+1}`.

    `delta_t = r_t + d_t * V_{t+1} - V_t`, with `V_T = final_value`.

    Returns:
      `[T, B]` advantages (`[B, T]` when not `time_major`), without gradient.
    """
    values = tf.convert_to_tensor(values)
    discounts = tf.convert_to_tensor(discounts)
    rewards = tf.convert_to_tensor(rewards)
    if not time_major:
        discounts, rewards, values = _time_major(discounts, rewards, values)
    next_values = tf.concat([values[1:], tf.expand_dims(final_value, 0)], axis=0)
    deltas = rewards + discounts * next_values - values

    def accumulate(
        later: tf.Tensor, weight_and_delta: tuple[tf.Tensor, tf.Tensor]
    ) -> tf.Tensor:
        weight, delta = weight_and_delta
        return delta + weight * later

    advantages = tf.scan(
        accumulate,
        (discounts * td_lambda, deltas),
        initializer=tf.zeros_like(final_value),
        reverse=True,
    )
    if not time_major:
        advantages = tf.transpose(advantages)
    return tf.stop_gradient(advantages)
