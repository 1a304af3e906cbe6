"""Every difference between Keras 3 and Keras 2 (tf-keras) that policylib meets.

`tf.keras` is Keras 3 by default since TF 2.16, and Keras 2 when
`TF_USE_LEGACY_KERAS=1` is set and tf-keras is installed. The mode is read
once, from what `tf.keras` actually is, and all version-dependent code lives
here so the rest of the library is written once.

The central difference (DESIGN fact 1): Keras 3 variables are not
`tf.Variable`s, so `tf.Module` attribute walking and `tf.train.Checkpoint` do
not see them. Each Keras 3 variable wraps one `tf.Variable`, reachable as
`.value` (the same object every time); `tf_variables` returns those, and a
module that keeps them in an attribute is tracked as usual.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import tensorflow as tf

__all__ = [
    "add_weight",
    "is_keras3",
    "keras",
    "lstm_initial_state",
    "safe_layer_name",
    "tf_variable",
    "tf_variables",
    "units",
]


@functools.cache
def is_keras3() -> bool:
    """True when `tf.keras` is Keras 3 (False for tf-keras / Keras 2)."""
    return tf.keras.layers.Layer.__module__.startswith("keras.")


def keras() -> Any:
    """The Keras module `tf.keras` resolves to in this process."""
    return tf.keras


def tf_variable(variable: Any) -> tf.Variable:
    """The `tf.Variable` behind a Keras (2 or 3) or TensorFlow variable."""
    if isinstance(variable, tf.Variable):
        return variable
    value = getattr(variable, "value", None)
    if isinstance(value, tf.Variable):
        return value
    raise TypeError(f"{variable!r} is not backed by a tf.Variable.")


def tf_variables(variables: Iterable[Any]) -> list[tf.Variable]:
    """`tf_variable` of each variable, without duplicates, in order."""
    seen: set[int] = set()
    result = []
    for variable in variables:
        tf_var = tf_variable(variable)
        if id(tf_var) not in seen:
            seen.add(id(tf_var))
            result.append(tf_var)
    return result


def units(value: Any) -> int:
    """A layer width as a Python int (Keras 3 rejects 0-d NumPy arrays)."""
    return int(value)


def add_weight(layer: Any, name: str, **kwargs: Any) -> Any:
    """`layer.add_weight` with `name` passed as a keyword (required by Keras 3)."""
    return layer.add_weight(name=name, **kwargs)


def safe_layer_name(name: str | None) -> str | None:
    """A layer name without '/', which Keras 3 refuses."""
    return None if name is None else name.replace("/", "_")


def lstm_initial_state(cell: Any, batch_size: Any, dtype: tf.DType) -> Any:
    """Zero state of an RNN cell (Keras 3's `get_initial_state` takes no dtype)."""
    if is_keras3():
        state = cell.get_initial_state(batch_size=batch_size)
        return tf.nest.map_structure(lambda s: tf.cast(s, dtype), state)
    return cell.get_initial_state(batch_size=batch_size, dtype=dtype)
