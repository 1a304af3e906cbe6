"""Small tensor helpers: tiling to an outer shape, swapping batch and time, scopes."""

from __future__ import annotations

import tensorflow as tf

from policylib.typing import types

__all__ = [
    "join_scope",
    "replicate",
    "transpose_batch_time",
]


def replicate(tensor: types.Tensor, outer_shape: types.Shape) -> tf.Tensor:
    """Tiles `tensor` so that its shape becomes `outer_shape + tensor.shape`."""
    tensor = tf.convert_to_tensor(tensor)
    outer_shape = tf.convert_to_tensor(outer_shape, dtype=tf.int32)
    if outer_shape.shape.rank != 1:
        raise ValueError(
            f"outer_shape must be a vector, got shape {outer_shape.shape}."
        )
    tiled = tf.tile(
        tf.reshape(tensor, tf.concat([tf.ones_like(outer_shape), tf.shape(tensor)], 0)),
        tf.concat([outer_shape, tf.ones_like(tf.shape(tensor))], 0),
    )
    static_outer = tf.get_static_value(outer_shape)
    if static_outer is not None:
        tiled = tf.ensure_shape(tiled, list(static_outer) + tensor.shape.as_list())
    return tiled


def transpose_batch_time(t: tf.Tensor) -> tf.Tensor:
    """Swaps the two leading axes ([B, T, ...] <-> [T, B, ...])."""
    return tf.transpose(t, [1, 0, *range(2, t.shape.rank)])


def join_scope(parent_scope: str, child_scope: str) -> str:
    """`'parent/child'`, or whichever of the two is non-empty."""
    if not parent_scope:
        return child_scope
    if not child_scope:
        return parent_scope
    return f"{parent_scope}/{child_scope}"
