"""Shape helpers that treat dense and sparse tensors alike."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["shape", "squeeze"]


def shape(t: Any) -> tf.TensorShape:
    """The static shape of a tensor, `SparseTensor` or array-like value."""
    if isinstance(t, tf.SparseTensor):
        return t.shape
    if hasattr(t, "shape"):
        return tf.TensorShape(t.shape)
    return tf.TensorShape(tf.convert_to_tensor(t).shape)


def squeeze(t: Any, axis: int) -> Any:
    """`tf.squeeze(t, axis)`, for a `SparseTensor` too."""
    if isinstance(t, tf.SparseTensor):
        dims = [d for d in range(t.shape.rank) if d != axis % t.shape.rank]
        return tf.SparseTensor(
            indices=tf.gather(t.indices, dims, axis=1),
            values=t.values,
            dense_shape=tf.gather(t.dense_shape, dims),
        )
    return tf.squeeze(t, axis)
