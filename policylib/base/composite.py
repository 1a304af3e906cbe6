"""Shape helpers that treat dense and sparse tensors alike."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["shape", "slice_from", "slice_to", "squeeze"]


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


def _normalized_axis(t: Any, axis: int) -> int:
    """`axis` as a non-negative index; `ValueError` if `t` has no such axis."""
    rank = shape(t).rank
    if rank is None:
        if axis < 0:
            raise ValueError(
                f"axis must be non-negative for a tensor of unknown rank, got {axis}."
            )
        return axis
    if not -rank <= axis < rank:
        raise ValueError(
            f"axis {axis} is out of range for a rank-{rank} tensor: expected "
            f"{-rank} <= axis < {rank}."
        )
    return axis % rank


def _bound_on_axis(bound: Any, size: tf.Tensor) -> tf.Tensor:
    """A slice bound as Python reads it: negative counts from the end, clipped."""
    bound = tf.cast(bound, tf.int64)
    bound = tf.where(bound < 0, bound + size, bound)
    return tf.clip_by_value(bound, tf.constant(0, tf.int64), size)


def _dense_slice(t: Any, axis: int, piece: slice) -> Any:
    """`t[:, ..., piece]` with `piece` at position `axis`."""
    if shape(t).rank is None:
        raise ValueError(f"Cannot slice a tensor of unknown rank: {t}.")
    return t[(slice(None),) * axis + (piece,)]


def slice_from(t: Any, axis: int, start: Any) -> Any:
    """`t` from index `start` on along `axis`, for a `SparseTensor` too.

    `slice_from(t, 1, 2)` is `t[:, 2:]`; a negative `start` counts from the end.

    Args:
      t: a `Tensor` or `SparseTensor` of known rank.
      axis: the axis to slice (a Python int; negative counts from the last).
      start: the first index kept (a Python int or scalar integer tensor).
    """
    axis = _normalized_axis(t, axis)
    if not isinstance(t, tf.SparseTensor):
        return _dense_slice(t, axis, slice(start, None))
    start = _bound_on_axis(start, t.dense_shape[axis])
    keep = tf.reshape(tf.where(t.indices[:, axis] >= start), [-1])
    # Shift the kept indices and the shape down by `start` along `axis` only.
    shift = start * tf.one_hot(axis, tf.size(t.dense_shape), dtype=tf.int64)
    return tf.SparseTensor(
        indices=tf.gather(t.indices, keep) - shift,
        values=tf.gather(t.values, keep),
        dense_shape=t.dense_shape - shift,
    )


def slice_to(t: Any, axis: int, end: Any) -> Any:
    """`t` up to (not including) index `end` along `axis`, for a `SparseTensor` too.

    `slice_to(t, 1, -1)` is `t[:, :-1]`; a negative `end` counts from the end.

    Args:
      t: a `Tensor` or `SparseTensor` of known rank.
      axis: the axis to slice (a Python int; negative counts from the last).
      end: the first index dropped (a Python int or scalar integer tensor).
    """
    axis = _normalized_axis(t, axis)
    if not isinstance(t, tf.SparseTensor):
        return _dense_slice(t, axis, slice(None, end))
    end = _bound_on_axis(end, t.dense_shape[axis])
    keep = tf.reshape(tf.where(t.indices[:, axis] < end), [-1])
    on_axis = tf.one_hot(axis, tf.size(t.dense_shape), dtype=tf.int64)
    return tf.SparseTensor(
        indices=tf.gather(t.indices, keep),
        values=tf.gather(t.values, keep),
        dense_shape=t.dense_shape * (1 - on_axis) + end * on_axis,
    )
