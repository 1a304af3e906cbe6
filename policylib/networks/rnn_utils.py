"""Building and running the recurrent core of the RNN networks.

`LSTMEncodingNetwork`, `ActorRnnNetwork` and `CriticRnnNetwork` share three
steps: make the recurrent layer (stacked LSTM cells or a user's layer), name
its state specs `network_state_<i>`, and run it over `[B, T, ...]` inputs with
the state reset on FIRST steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import tensorflow as tf

from policylib.base import nest_utils
from policylib.keras_layers import dynamic_unroll_layer
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import keras_compat

if TYPE_CHECKING:
    from policylib.networks import utils as network_utils

__all__ = [
    "RnnConstructionFn",
    "add_time_dim",
    "recurrent_layer",
    "run_recurrent",
    "run_recurrent_squashed",
    "state_spec_of",
]

# Builds a user's Keras RNN layer (`return_state=True`) from keyword arguments.
RnnConstructionFn = Callable[..., tf.keras.layers.Layer]


def recurrent_layer(
    lstm_size: Sequence[int] | None,
    rnn_construction_fn: RnnConstructionFn | None = None,
    rnn_construction_kwargs: dict[str, object] | None = None,
    dtype: tf.DType = tf.float32,
) -> tf.keras.layers.Layer:
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
        for size in lstm_size or ()
    ]
    cell = cells[0] if len(cells) == 1 else tf.keras.layers.StackedRNNCells(cells)
    return dynamic_unroll_layer.DynamicUnroll(cell)


def state_spec_of(
    rnn_layer: tf.keras.layers.Layer, dtype: tf.DType = tf.float32
) -> types.NestedTensorSpec:
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


def add_time_dim(
    inputs: types.NestedTensor,
    spec: types.NestedTensorSpec,
    *others: types.NestedTensor | None,
) -> tuple[bool, types.NestedTensor, list]:
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

    def expand(nest: types.NestedTensor | None) -> types.NestedTensor | None:
        if nest is None:
            return None
        return tf.nest.map_structure(lambda t: tf.expand_dims(t, 1), nest)

    return False, expand(inputs), [expand(other) for other in others]


def run_recurrent(
    rnn_layer: tf.keras.layers.Layer,
    inputs: tf.Tensor,
    network_state: types.NestedTensor,
    step_type: tf.Tensor | None,
    training: bool = False,
) -> tuple[tf.Tensor, types.NestedTensor]:
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


def run_recurrent_squashed(
    rnn_layer: tf.keras.layers.Layer,
    layers_after: Sequence[tf.keras.layers.Layer],
    squash: network_utils.BatchSquash,
    inputs: tf.Tensor,
    network_state: types.NestedTensor,
    step_type: tf.Tensor | None,
    training: bool,
) -> tuple[tf.Tensor, types.NestedTensor]:
    """`run_recurrent` on `[B*T, ...]` inputs folded by `squash`, then `layers_after`.

    Returns the `[B*T, ...]` outputs of the last layer and the final state.
    """
    outputs, network_state = run_recurrent(
        rnn_layer, squash.unflatten(inputs), network_state, step_type, training
    )
    outputs = squash.flatten(outputs)
    for layer in layers_after:
        outputs = layer(outputs, training=training)
    return outputs, network_state
