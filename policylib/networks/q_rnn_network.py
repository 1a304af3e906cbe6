"""`QRnnNetwork`: an `LSTMEncodingNetwork` with a Q-value head (a stateful QNetwork)."""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.networks import lstm_encoding_network, q_network

__all__ = ["QRnnNetwork"]


@gin.configurable
class QRnnNetwork(lstm_encoding_network.LSTMEncodingNetwork):
    """Recurrent Q-network: Q-values `[B, num_actions]` (or `[B, T, num_actions]`).

    Args: see `LSTMEncodingNetwork`; `action_spec` is one bounded discrete
    spec of shape `()` or `(1,)`.
    """

    def __init__(
        self,
        input_tensor_spec: Any,
        action_spec: Any,
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
        name: str = "QRnnNetwork",
    ):
        q_network.validate_specs(action_spec, input_tensor_spec)
        q_projection = tf.keras.layers.Dense(
            q_network.num_actions_of(action_spec),
            activation=None,
            kernel_initializer=tf.random_uniform_initializer(minval=-0.03, maxval=0.03),
            bias_initializer=tf.constant_initializer(-0.2),
            dtype=dtype,
            name="num_action_project_dense",
        )
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            preprocessing_layers=preprocessing_layers,
            preprocessing_combiner=preprocessing_combiner,
            conv_layer_params=conv_layer_params,
            input_fc_layer_params=input_fc_layer_params,
            lstm_size=lstm_size,
            output_fc_layer_params=output_fc_layer_params,
            activation_fn=activation_fn,
            rnn_construction_fn=rnn_construction_fn,
            rnn_construction_kwargs=rnn_construction_kwargs,
            dtype=dtype,
            name=name,
        )
        self._output_encoder.append(q_projection)
