"""`ActorDistributionRnnNetwork`: an `LSTMEncodingNetwork` with per-action projections."""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.networks import actor_distribution_network as adn
from policylib.networks import lstm_encoding_network, network

__all__ = ["ActorDistributionRnnNetwork"]


@gin.configurable
class ActorDistributionRnnNetwork(network.DistributionNetwork):
    """Recurrent actor: action distributions from an LSTM encoding (stateful ActorPolicy).

    Args: see `LSTMEncodingNetwork` and `ActorDistributionNetwork`.
    """

    def __init__(
        self,
        input_tensor_spec: Any,
        output_tensor_spec: Any,
        preprocessing_layers: Any = None,
        preprocessing_combiner: Any = None,
        conv_layer_params: Any = None,
        input_fc_layer_params: Any = (200, 100),
        input_dropout_layer_params: Any = None,
        lstm_size: Any = None,
        output_fc_layer_params: Any = (200, 100),
        activation_fn: Any = tf.keras.activations.relu,
        dtype: Any = tf.float32,
        discrete_projection_net: Any = adn._categorical_projection_net,
        continuous_projection_net: Any = adn._normal_projection_net,
        rnn_construction_fn: Any = None,
        rnn_construction_kwargs: Any = None,
        name: str = "ActorDistributionRnnNetwork",
    ):
        if input_dropout_layer_params:
            raise ValueError("Dropout layer is not supported.")
        if lstm_size is None and rnn_construction_fn is None:
            lstm_size = (40,)
        lstm_encoder = lstm_encoding_network.LSTMEncodingNetwork(
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
        projection_networks = adn.projection_networks_for(
            output_tensor_spec, discrete_projection_net, continuous_projection_net
        )
        output_spec = tf.nest.map_structure(
            lambda net: net.output_spec, projection_networks
        )
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            state_spec=lstm_encoder.state_spec,
            output_spec=output_spec,
            name=name,
        )
        self._lstm_encoder = lstm_encoder
        self._projection_networks = projection_networks
        self._output_tensor_spec = output_tensor_spec

    @property
    def output_tensor_spec(self) -> Any:
        return self._output_tensor_spec

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
        distributions = adn.project(
            self._projection_networks,
            encoding,
            observation,
            self.input_tensor_spec,
            training,
        )
        return distributions, network_state
