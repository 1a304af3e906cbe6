"""Losses for bandit constraints: the pinball loss of quantile regression.

Minimising the pinball loss at `quantile` q over a prediction `y` gives the
q-quantile of the targets (q = 0.5: the median), which is what
`QuantileConstraint` and `RelativeQuantileConstraint` train their networks to
predict.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.typing import types

__all__ = ["pinball_loss"]


def pinball_loss(
    y_true: types.Tensor,
    y_pred: types.Tensor,
    weights: types.Float = 1.0,
    scope: str | None = None,
    loss_collection: Any = tf.compat.v1.GraphKeys.LOSSES,
    reduction: Any = tf.compat.v1.losses.Reduction.SUM_BY_NONZERO_WEIGHTS,
    quantile: float = 0.5,
) -> tf.Tensor:
    """The pinball (quantile) loss of `y_pred` against `y_true`.

    Per element, with `error = y_true - y_pred`:
    `quantile * error` when the prediction is too low, else
    `(quantile - 1) * error`; i.e. `max(q * error, (q - 1) * error)`.
    Elements are weighted and reduced as the `tf.compat.v1.losses` functions
    do (the arguments mean the same), so it can stand in for
    `mean_squared_error` as a constraint's `error_loss_fn`.

    Args:
      y_true: targets.
      y_pred: predictions, of a shape compatible with `y_true`.
      weights: scalar, or a tensor broadcastable to the losses.
      scope: name scope of the ops.
      loss_collection: graph collection the loss is added to (graph mode).
      reduction: a `tf.compat.v1.losses.Reduction`; `NONE` keeps per-element
        losses.
      quantile: the quantile to regress, in `[0, 1]`.

    Raises:
      ValueError: `y_true` or `y_pred` is None, their shapes differ, or
        `quantile` is outside `[0, 1]`.
    """
    if y_true is None:
        raise ValueError("pinball_loss: y_true must not be None.")
    if y_pred is None:
        raise ValueError("pinball_loss: y_pred must not be None.")
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"pinball_loss: quantile must be in [0, 1]; got {quantile}.")
    with tf.compat.v1.name_scope(
        scope, "pinball_loss", (y_pred, y_true, weights)
    ) as sc:
        y_pred = tf.cast(y_pred, tf.float32)
        y_true = tf.cast(y_true, tf.float32)
        if not y_pred.shape.is_compatible_with(y_true.shape):
            raise ValueError(
                "pinball_loss: y_pred and y_true must have compatible shapes; got "
                f"{y_pred.shape} and {y_true.shape}."
            )
        error = y_true - y_pred
        losses = tf.maximum(quantile * error, (quantile - 1.0) * error)
        return tf.compat.v1.losses.compute_weighted_loss(
            losses, weights, sc, loss_collection, reduction=reduction
        )
