"""Q-value helpers: expected values of categorical (C51) logits, indexing by action."""

from __future__ import annotations

import tensorflow as tf

__all__ = [
    "convert_q_logits_to_values",
    "index_with_actions",
]


def convert_q_logits_to_values(logits: tf.Tensor, support: tf.Tensor) -> tf.Tensor:
    """Expected value per action of categorical (C51) logits over `support` atoms."""
    return tf.reduce_sum(support * tf.nn.softmax(logits), axis=-1)


def index_with_actions(
    q_values: tf.Tensor, actions: tf.Tensor, multi_dim_actions: bool = False
):
    """`q_values[..., action]` for every outer index of `actions`.

    Args:
      q_values: `[B1, ..., Bn, num_actions]` (or more inner dims when
        `multi_dim_actions`).
      actions: `[B1, ..., Bn]` integer actions (`[..., action_dims]` when
        `multi_dim_actions`).
    """
    if actions.shape.rank is None:
        raise ValueError("actions should have known rank.")
    batch_dims = actions.shape.rank - (1 if multi_dim_actions else 0)
    outer_shape = tf.shape(actions)
    batch_indices = tf.meshgrid(
        *[tf.range(outer_shape[i]) for i in range(batch_dims)], indexing="ij"
    )
    batch_indices = [tf.cast(tf.expand_dims(i, -1), tf.int32) for i in batch_indices]
    if not multi_dim_actions:
        actions = tf.expand_dims(actions, -1)
    indices = tf.concat(batch_indices + [tf.cast(actions, tf.int32)], -1)
    return tf.gather_nd(q_values, indices)
