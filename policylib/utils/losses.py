"""Losses: element-wise TD losses, and per-example losses aggregated to one scalar."""

from __future__ import annotations

import logging
from typing import NamedTuple

import tensorflow as tf

from policylib.typing import types

__all__ = [
    "AggregatedLosses",
    "aggregate_losses",
    "element_wise_huber_loss",
    "element_wise_squared_loss",
]


class AggregatedLosses(NamedTuple):
    total_loss: tf.Tensor
    weighted: tf.Tensor
    regularization: tf.Tensor


def aggregate_losses(
    per_example_loss: types.Tensor = None,
    sample_weight: types.Tensor | None = None,
    global_batch_size: types.Int | None = None,
    regularization_loss: types.Tensor | None = None,
) -> AggregatedLosses:
    """Weighted mean of per-example losses plus scaled regularization.

    Inner dims of `per_example_loss` (e.g. time) are averaged first;
    `sample_weight` broadcasts from the outer dims. The mean divides by
    `global_batch_size` (default: the batch size times the number of replicas).

    Returns:
      `AggregatedLosses(total_loss, weighted, regularization)`.
    """
    total = weighted = regularization = None
    if sample_weight is not None and not isinstance(sample_weight, tf.Tensor):
        sample_weight = tf.convert_to_tensor(sample_weight, dtype=tf.float32)
    if per_example_loss is not None:
        loss_rank = per_example_loss.shape.rank
        if sample_weight is not None:
            weight_rank = sample_weight.shape.rank
            if 0 < weight_rank < loss_rank:
                for dim in range(weight_rank, loss_rank):
                    sample_weight = tf.expand_dims(sample_weight, dim)
            per_example_loss = tf.math.multiply_no_nan(per_example_loss, sample_weight)
        if loss_rank == 0:
            message = (
                "aggregate_losses needs a loss per example (rank >= 1), e.g. "
                "tf.math.squared_difference instead of losses.mean_squared_error; got "
                f"{per_example_loss}."
            )
            if tf.distribute.has_strategy():
                raise ValueError(message)
            logging.warning(message)
            per_example_loss = tf.expand_dims(per_example_loss, 0)
        elif loss_rank > 1:
            per_example_loss = tf.reduce_mean(per_example_loss, range(1, loss_rank))
        if global_batch_size:
            global_batch_size = tf.cast(global_batch_size, per_example_loss.dtype)
        weighted = tf.nn.compute_average_loss(
            per_example_loss, global_batch_size=global_batch_size
        )
        total = weighted
    if regularization_loss is not None:
        regularization = tf.nn.scale_regularization_loss(regularization_loss)
        total = regularization if total is None else total + regularization
    return AggregatedLosses(total, weighted, regularization)


def element_wise_squared_loss(x: types.Tensor, y: types.Tensor) -> tf.Tensor:
    """`(x - y)^2` per element (no reduction): the TD loss of DQN's paper."""
    return tf.math.squared_difference(tf.cast(y, tf.float32), tf.cast(x, tf.float32))


def element_wise_huber_loss(x: types.Tensor, y: types.Tensor) -> tf.Tensor:
    """Huber loss (delta 1) per element: squared near 0, linear beyond 1."""
    error = tf.abs(tf.cast(y, tf.float32) - tf.cast(x, tf.float32))
    quadratic = tf.minimum(error, 1.0)
    return 0.5 * tf.square(quadratic) + (error - quadratic)
