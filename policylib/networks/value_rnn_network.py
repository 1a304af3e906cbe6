"""`ValueRnnNetwork`: an `LSTMEncodingNetwork` with a scalar value head."""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.networks import lstm_encoding_network, network

__all__ = ["ValueRnnNetwork"]


@gin.configurable
class ValueRnnNetwork(network.Network):
    """Recurrent value network: values `[B]` (or `[B, T]`).

    Args: see `LSTMEncodingNetwork`.
    """

    def __init__(
        self,
        input_tensor_spec: Any,
        preprocessing_layers: Any = None,
        preprocessing_combiner: Any = None,
        conv_layer_params: Any = None,
        input_fc_layer_params: Any = (75, 40),
        input_dropout_layer_params: Any = None,
        lstm_size: Any = (40,),
        output_fc_layer_params: Any = (75, 40),
        activation_fn: Any = tf.keras.activations.relu,
        dtype: Any = tf.float32,
        name: str = "ValueRnnNetwork",
    ):
        if input_dropout_layer_params:
            raise ValueError("Dropout layer is not supported.")
        lstm_encoder = lstm_encoding_network.LSTMEncodingNetwork(
            input_tensor_spec=input_tensor_spec,
            preprocessing_layers=preprocessing_layers,
            preprocessing_combiner=preprocessing_combiner,
            conv_layer_params=conv_layer_params,
            input_fc_layer_params=input_fc_layer_params,
            lstm_size=lstm_size,
            output_fc_layer_params=output_fc_layer_params,
            activation_fn=activation_fn,
            dtype=dtype,
            name=name,
        )
        postprocessing = tf.keras.layers.Dense(
            1,
            activation=None,
            kernel_initializer=tf.random_uniform_initializer(minval=-0.03, maxval=0.03),
        )
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            state_spec=lstm_encoder.state_spec,
            name=name,
        )
        self._lstm_encoder = lstm_encoder
        self._postprocessing_layers = postprocessing

    def call(
        self,
        observation: Any,
        step_type: Any = None,
        network_state: Any = (),
        training: bool = False,
    ) -> tuple[Any, Any]:
        encoding, network_state = self._lstm_encoder(
            observation,
            step_type=step_type,
            network_state=network_state,
            training=training,
        )
        value = self._postprocessing_layers(encoding, training=training)
        return tf.squeeze(value, -1), network_state
