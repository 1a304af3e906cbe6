"""Variables: counters such as a train step, and soft updates of one set from another."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import tensorflow as tf

from policylib.typing import types

__all__ = ["create_variable", "soft_variables_update"]


def create_variable(
    name: str,
    initial_value: types.Tensor | float = 0,
    shape: types.Shape = (),
    dtype: tf.DType = tf.int64,
    use_local_variable: bool = False,
    trainable: bool = False,
    initializer: tf.keras.initializers.Initializer | None = None,
    unique_name: bool = True,
) -> tf.Variable:
    """A (by default non-trainable int64 scalar) variable, e.g. a train step.

    Args:
      name: variable name.
      initial_value: starting value when no `initializer` is given.
      shape: variable shape.
      dtype: variable dtype.
      use_local_variable: accepted for TF1 compatibility; ignored in TF2.
      trainable: whether optimizers should see it.
      initializer: optional callable `(shape, dtype) -> value`.
      unique_name: accepted for TF1 compatibility; TF2 names need not be unique.
    """
    del use_local_variable, unique_name
    if initializer is None:
        value = (
            tf.fill(shape, tf.constant(initial_value, dtype=dtype))
            if shape
            else tf.constant(initial_value, dtype=dtype)
        )
    else:
        value = (
            functools.partial(initializer, shape, dtype)
            if callable(initializer)
            else initializer
        )
    return tf.Variable(value, name=name, dtype=dtype, trainable=trainable, shape=shape)


def soft_variables_update(
    source_variables: Sequence[tf.Variable],
    target_variables: Sequence[tf.Variable],
    tau: types.Float = 1.0,
    tau_non_trainable: types.Float | None = None,
    sort_variables_by_name: bool = False,
) -> tf.Operation:
    """`target = (1 - tau) * target + tau * source` for each paired variable.

    Args:
      source_variables: variables to copy from.
      target_variables: variables to update, paired in order with the sources.
      tau: interpolation weight for trainable targets (1.0 copies).
      tau_non_trainable: weight for non-trainable targets; defaults to `tau`.
      sort_variables_by_name: pair variables by sorted name instead of order.

    Raises:
      ValueError: tau outside [0, 1], different counts, or mismatched shapes.
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be in [0, 1], got {tau}.")
    if tau_non_trainable is None:
        tau_non_trainable = tau
    source_variables = list(source_variables)
    target_variables = list(target_variables)
    if len(source_variables) != len(target_variables):
        raise ValueError(
            f"Number of source variables ({len(source_variables)}) differs from the number "
            f"of target variables ({len(target_variables)})."
        )
    if sort_variables_by_name:
        source_variables = sorted(source_variables, key=lambda v: v.name)
        target_variables = sorted(target_variables, key=lambda v: v.name)
    updates = []
    for source, target in zip(source_variables, target_variables):
        if not source.shape.is_compatible_with(target.shape):
            raise ValueError(
                f"Cannot update {target.name} {target.shape} from {source.name} {source.shape}: "
                "shapes differ."
            )
        weight = tau if target.trainable else tau_non_trainable
        if weight == 1.0:
            updates.append(target.assign(source))
        else:
            updates.append(target.assign((1 - weight) * target + weight * source))
    return tf.group(*updates, name="update_targets")
