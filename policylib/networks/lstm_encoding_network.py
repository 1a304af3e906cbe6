"""`LSTMEncodingNetwork`: encoder, LSTM over time (reset on FIRST steps), dense output."""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.keras_layers import dynamic_unroll_layer
from policylib.networks import encoding_network, network
from policylib.networks import utils as network_utils
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.utils import keras_compat, nest_utils

__all__ = ["LSTMEncodingNetwork"]


@gin.configurable
class LSTMEncodingNetwork(network.Network):
    """Encodes `[B, ...]` or `[B, T, ...]` observations with an LSTM.

    The state is the LSTM state (`network_state_0`, `network_state_1`, ...);
    a step whose type is FIRST starts from a zero state.

    Args:
      input_tensor_spec ... conv_layer_params: see `EncodingNetwork`.
      input_fc_layer_params: dense layers before the LSTM.
      lstm_size: units per stacked LSTM cell, e.g. `(40,)`.
      output_fc_layer_params: dense layers after the LSTM.
      activation_fn: activation of the dense layers.
      rnn_construction_fn: builds a custom recurrent layer instead of
        `lstm_size` (called with `rnn_construction_kwargs`).
      dtype: dtype of the layers.
      name: network name.
    """

    def __init__(
        self,
        input_tensor_spec: Any,
        preprocessing_layers: Any = None,
        preprocessing_combiner: Any = None,
        conv_layer_params: Any = None,
        input_fc_layer_params: Any = (75, 40),
        lstm_size: Any = None,
        output_fc_layer_params: Any = (75, 40),
        activation_fn: Any = tf.keras.activations.relu,
        rnn_construction_fn: Any = None,
        rnn_construction_kwargs: Any = None,
        dtype: Any = tf.float32,
        name: str = "LSTMEncodingNetwork",
    ):
        if lstm_size is None and rnn_construction_fn is None:
            raise ValueError(
                "Need to provide either custom rnn_construction_fn or lstm_size."
            )
        if lstm_size and rnn_construction_fn:
            raise ValueError(
                "Cannot provide both custom rnn_construction_fn and lstm_size."
            )
        kernel_initializer = network_utils.default_kernel_initializer()
        input_encoder = encoding_network.EncodingNetwork(
            input_tensor_spec,
            preprocessing_layers=preprocessing_layers,
            preprocessing_combiner=preprocessing_combiner,
            conv_layer_params=conv_layer_params,
            fc_layer_params=input_fc_layer_params,
            activation_fn=activation_fn,
            kernel_initializer=network_utils.clone_initializer(kernel_initializer),
            dtype=dtype,
        )
        if rnn_construction_fn:
            lstm_network = rnn_construction_fn(**(rnn_construction_kwargs or {}))
        else:
            cells = [
                tf.keras.layers.LSTMCell(keras_compat.units(size), dtype=dtype)
                for size in lstm_size
            ]
            cell = (
                cells[0] if len(cells) == 1 else tf.keras.layers.StackedRNNCells(cells)
            )
            lstm_network = dynamic_unroll_layer.DynamicUnroll(cell)
        output_encoder = network_utils.dense_layers(
            output_fc_layer_params,
            activation_fn=activation_fn,
            kernel_initializer=kernel_initializer,
            dtype=dtype,
        )
        flat_sizes = tf.nest.flatten(lstm_network.cell.state_size)
        state_spec = tf.nest.pack_sequence_as(
            lstm_network.cell.state_size,
            [
                tensor_spec.TensorSpec(size, dtype=dtype, name=f"network_state_{i}")
                for i, size in enumerate(flat_sizes)
            ],
        )
        super().__init__(
            input_tensor_spec=input_tensor_spec, state_spec=state_spec, name=name
        )
        self._conv_layer_params = conv_layer_params
        self._input_encoder = input_encoder
        self._lstm_network = lstm_network
        self._output_encoder = output_encoder

    def call(
        self,
        observation: Any,
        step_type: Any = None,
        network_state: Any = (),
        training: bool = False,
    ) -> tuple[Any, Any]:
        num_outer_dims = nest_utils.get_outer_rank(observation, self.input_tensor_spec)
        if num_outer_dims not in (1, 2):
            raise ValueError(
                "Input observation must have a batch or batch x time outer shape; got "
                f"{num_outer_dims} outer dims."
            )
        has_time_dim = num_outer_dims == 2
        if not has_time_dim:
            observation = tf.nest.map_structure(
                lambda t: tf.expand_dims(t, 1), observation
            )
            if step_type is not None:
                step_type = tf.expand_dims(step_type, 1)
        encoding, _ = self._input_encoder(
            observation, step_type=step_type, network_state=(), training=training
        )
        if isinstance(self._lstm_network, dynamic_unroll_layer.DynamicUnroll):
            reset_mask = None
            if step_type is not None:
                reset_mask = tf.equal(step_type, ts.StepType.FIRST)
            encoding, network_state = self._lstm_network(
                encoding,
                initial_state=network_state,
                reset_mask=reset_mask,
                training=training,
            )
        else:
            output = self._lstm_network(
                encoding, initial_state=network_state, training=training
            )
            encoding = output[0]
            network_state = tf.nest.pack_sequence_as(
                self._lstm_network.cell.state_size, tf.nest.flatten(output[1:])
            )
        for layer in self._output_encoder:
            encoding = layer(encoding, training=training)
        if not has_time_dim:
            encoding = tf.squeeze(encoding, [1])
        return encoding, network_state
