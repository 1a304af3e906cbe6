"""Variables: counters such as a train step, and online/target network pairs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

__all__ = [
    "check_matching_networks",
    "check_no_shared_variables",
    "create_variable",
    "soft_variables_update",
]


def create_variable(
    name: str,
    initial_value: Any = 0,
    shape: Any = (),
    dtype: Any = tf.int64,
    use_local_variable: bool = False,
    trainable: bool = False,
    initializer: Any = None,
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
    tau: float = 1.0,
    tau_non_trainable: float | None = None,
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


def check_matching_networks(network_1: Any, network_2: Any) -> None:
    """ValueError unless two networks have the same input spec and variable shapes."""
    if network_1.input_tensor_spec != network_2.input_tensor_spec:
        raise ValueError(
            "Input tensor specs of network and target network do not match: "
            f"{network_1.input_tensor_spec} vs. {network_2.input_tensor_spec}."
        )
    variables_1, variables_2 = network_1.variables, network_2.variables
    if len(variables_1) != len(variables_2):
        raise ValueError(
            "Variables lengths do not match between Q network and target network: "
            f"{variables_1} vs. {variables_2}"
        )
    for v1, v2 in zip(variables_1, variables_2):
        if v1.dtype != v2.dtype or v1.shape != v2.shape:
            raise ValueError(f"Variable dtypes or shapes do not match: {v1} vs. {v2}")


def check_no_shared_variables(network_1: Any, network_2: Any) -> None:
    """ValueError if two networks (e.g. online and target) share trainable variables."""
    ids_2 = {id(v) for v in network_2.trainable_variables}
    shared = [v for v in network_1.trainable_variables if id(v) in ids_2]
    if shared:
        raise ValueError(
            f"After making a copy of network '{network_1.name}' to create a target network "
            f"'{network_2.name}', the target network shares weights with the original "
            "network.  This is not allowed: create every weight inside the Network (a copy "
            "is a new Network built from the same arguments), or pass a target network "
            f"that shares layers explicitly. Shared variables found: '{[v.name for v in shared]}'."
        )
