"""`ValueNetwork`: an `EncodingNetwork` followed by one scalar value per batch entry."""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.networks import encoding_network, network

__all__ = ["ValueNetwork"]


@gin.configurable
class ValueNetwork(network.Network):
    """Maps observations to values of shape `[batch]` (or `[batch, time]`).

    Args: see `EncodingNetwork`.
    """

    def __init__(
        self,
        input_tensor_spec: Any,
        preprocessing_layers: Any = None,
        preprocessing_combiner: Any = None,
        conv_layer_params: Any = None,
        fc_layer_params: Any = (75, 40),
        dropout_layer_params: Any = None,
        activation_fn: Any = tf.keras.activations.relu,
        kernel_initializer: Any = None,
        batch_squash: bool = True,
        dtype: Any = tf.float32,
        name: str = "ValueNetwork",
    ):
        encoder = encoding_network.EncodingNetwork(
            input_tensor_spec,
            preprocessing_layers=preprocessing_layers,
            preprocessing_combiner=preprocessing_combiner,
            conv_layer_params=conv_layer_params,
            fc_layer_params=fc_layer_params,
            dropout_layer_params=dropout_layer_params,
            activation_fn=activation_fn,
            kernel_initializer=kernel_initializer,
            batch_squash=batch_squash,
            dtype=dtype,
        )
        postprocessing = tf.keras.layers.Dense(
            1,
            activation=None,
            kernel_initializer=tf.random_uniform_initializer(minval=-0.03, maxval=0.03),
        )
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        self._encoder = encoder
        self._postprocessing_layers = postprocessing

    def call(
        self,
        observation: Any,
        step_type: Any = None,
        network_state: Any = (),
        training: bool = False,
    ) -> tuple[tf.Tensor, Any]:
        encoding, network_state = self._encoder(
            observation,
            step_type=step_type,
            network_state=network_state,
            training=training,
        )
        value = self._postprocessing_layers(encoding, training=training)
        return tf.squeeze(value, -1), network_state
