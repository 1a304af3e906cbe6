"""`LSTMEncodingNetwork`: encoder, LSTM over time (reset on FIRST steps), dense output."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import encoding_network, network, rnn_utils
from policylib.networks import utils as network_utils
from policylib.typing import types

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
        input_tensor_spec: types.NestedTensorSpec,
        preprocessing_layers: types.NestedLayer | None = None,
        preprocessing_combiner: tf.keras.layers.Layer | None = None,
        conv_layer_params: network_utils.ConvLayerParams | None = None,
        input_fc_layer_params: network_utils.FcLayerParams | None = (75, 40),
        lstm_size: network_utils.FcLayerParams | None = None,
        output_fc_layer_params: network_utils.FcLayerParams | None = (75, 40),
        activation_fn: network_utils.Activation | None = tf.keras.activations.relu,
        rnn_construction_fn: rnn_utils.RnnConstructionFn | None = None,
        rnn_construction_kwargs: dict[str, object] | None = None,
        dtype: tf.DType = tf.float32,
        name: str = "LSTMEncodingNetwork",
    ):
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
        lstm_network = rnn_utils.recurrent_layer(
            lstm_size, rnn_construction_fn, rnn_construction_kwargs, dtype=dtype
        )
        output_encoder = network_utils.dense_layers(
            output_fc_layer_params,
            activation_fn=activation_fn,
            kernel_initializer=kernel_initializer,
            dtype=dtype,
        )
        state_spec = rnn_utils.state_spec_of(lstm_network, dtype=dtype)
        super().__init__(
            input_tensor_spec=input_tensor_spec, state_spec=state_spec, name=name
        )
        self._conv_layer_params = conv_layer_params
        self._input_encoder = input_encoder
        self._lstm_network = lstm_network
        self._output_encoder = output_encoder

    def call(
        self,
        observation: types.NestedTensor,
        step_type: types.Tensor | None = None,
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        has_time_dim, observation, (step_type,) = rnn_utils.add_time_dim(
            observation, self.input_tensor_spec, step_type
        )
        encoding, _ = self._input_encoder(
            observation, step_type=step_type, network_state=(), training=training
        )
        encoding, network_state = rnn_utils.run_recurrent(
            self._lstm_network, encoding, network_state, step_type, training
        )
        encoding = network_utils.apply_layers(self._output_encoder, encoding, training)
        if not has_time_dim:
            encoding = tf.squeeze(encoding, [1])
        return encoding, network_state
