"""Building and running the recurrent core of the RNN networks.

`LSTMEncodingNetwork`, `ActorRnnNetwork` and `CriticRnnNetwork` share three
steps: make the recurrent layer (stacked LSTM cells or a user's layer), name
its state specs `network_state_<i>`, and run it over `[B, T, ...]` inputs with
the state reset on FIRST steps.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.base import nest_utils
from policylib.keras_layers import dynamic_unroll_layer
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.utils import keras_compat

__all__ = ["add_time_dim", "recurrent_layer", "run_recurrent", "state_spec_of"]


def recurrent_layer(
    lstm_size: Any,
    rnn_construction_fn: Any = None,
    rnn_construction_kwargs: Any = None,
    dtype: Any = tf.float32,
) -> Any:
    """A `DynamicUnroll` over LSTM cells of `lstm_size`, or the user's layer.

    Raises:
      ValueError: neither or both of `lstm_size` and `rnn_construction_fn`.
    """
    if not lstm_size and rnn_construction_fn is None:
        raise ValueError(
            "Need to provide either custom rnn_construction_fn or lstm_size."
        )
    if lstm_size and rnn_construction_fn:
        raise ValueError(
            "Cannot provide both custom rnn_construction_fn and lstm_size."
        )
    if rnn_construction_fn:
        return rnn_construction_fn(**(rnn_construction_kwargs or {}))
    cells = [
        tf.keras.layers.LSTMCell(keras_compat.units(size), dtype=dtype)
        for size in lstm_size
    ]
    cell = cells[0] if len(cells) == 1 else tf.keras.layers.StackedRNNCells(cells)
    return dynamic_unroll_layer.DynamicUnroll(cell)


def state_spec_of(rnn_layer: Any, dtype: Any = tf.float32) -> Any:
    """The layer's state as specs named `network_state_0`, `network_state_1`, ..."""
    state_size = rnn_layer.cell.state_size
    flat = tf.nest.flatten(state_size)
    return tf.nest.pack_sequence_as(
        state_size,
        [
            tensor_spec.TensorSpec(size, dtype=dtype, name=f"network_state_{i}")
            for i, size in enumerate(flat)
        ],
    )


def add_time_dim(inputs: Any, spec: Any, *others: Any) -> tuple[bool, Any, list]:
    """`(had_time_dim, inputs, others)` with a time axis of 1 added where missing.

    `inputs` must be `[B, ...]` or `[B, T, ...]` against `spec`; `others`
    (actions, step types; None stays None) get the same treatment.

    Raises:
      ValueError: `inputs` has another outer rank.
    """
    num_outer_dims = nest_utils.get_outer_rank(inputs, spec)
    if num_outer_dims not in (1, 2):
        raise ValueError(
            "Input observation must have a batch or batch x time outer shape; got "
            f"{num_outer_dims} outer dims."
        )
    if num_outer_dims == 2:
        return True, inputs, list(others)

    def expand(nest: Any) -> Any:
        if nest is None:
            return None
        return tf.nest.map_structure(lambda t: tf.expand_dims(t, 1), nest)

    return False, expand(inputs), [expand(other) for other in others]


def run_recurrent(
    rnn_layer: Any,
    inputs: tf.Tensor,
    network_state: Any,
    step_type: Any,
    training: bool = False,
) -> tuple[tf.Tensor, Any]:
    """Runs `rnn_layer` over `[B, T, ...]`; returns `(outputs, final_state)`.

    A `DynamicUnroll` resets the state where `step_type` is FIRST; a user's
    Keras RNN layer (`return_state=True`) is called as is.
    """
    if isinstance(rnn_layer, dynamic_unroll_layer.DynamicUnroll):
        reset_mask = None
        if step_type is not None:
            reset_mask = tf.equal(step_type, ts.StepType.FIRST)
        return rnn_layer(
            inputs,
            initial_state=network_state,
            reset_mask=reset_mask,
            training=training,
        )
    output = rnn_layer(inputs, initial_state=network_state, training=training)
    state = tf.nest.pack_sequence_as(
        rnn_layer.cell.state_size, tf.nest.flatten(output[1:])
    )
    return output[0], state
