"""`ActorDistributionRnnNetwork`: an `LSTMEncodingNetwork` with per-action projections."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import _builders, network, rnn_utils
from policylib.networks import actor_distribution_network as adn
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = ["ActorDistributionRnnNetwork"]


@gin.configurable
class ActorDistributionRnnNetwork(
    _builders.EncoderThenHead, network.DistributionNetwork
):
    """Recurrent actor: action distributions from an LSTM encoding (stateful ActorPolicy).

    Args: see `LSTMEncodingNetwork` and `ActorDistributionNetwork`.
    """

    _encoder_attribute = "_lstm_encoder"

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        output_tensor_spec: types.NestedTensorSpec,
        preprocessing_layers: types.NestedLayer | None = None,
        preprocessing_combiner: tf.keras.layers.Layer | None = None,
        conv_layer_params: network_utils.ConvLayerParams | None = None,
        input_fc_layer_params: network_utils.FcLayerParams | None = (200, 100),
        input_dropout_layer_params: network_utils.DropoutLayerParams | None = None,
        lstm_size: network_utils.FcLayerParams | None = None,
        output_fc_layer_params: network_utils.FcLayerParams | None = (200, 100),
        activation_fn: network_utils.Activation | None = tf.keras.activations.relu,
        dtype: tf.DType = tf.float32,
        discrete_projection_net: adn.ProjectionNetFn = adn._categorical_projection_net,
        continuous_projection_net: adn.ProjectionNetFn = adn._normal_projection_net,
        rnn_construction_fn: rnn_utils.RnnConstructionFn | None = None,
        rnn_construction_kwargs: dict[str, object] | None = None,
        name: str = "ActorDistributionRnnNetwork",
    ):
        if input_dropout_layer_params:
            raise ValueError("Dropout layer is not supported.")
        if lstm_size is None and rnn_construction_fn is None:
            lstm_size = (40,)
        lstm_encoder = _builders.lstm_encoding_network_from(locals())
        projection_networks = adn.projection_networks_for(
            output_tensor_spec, discrete_projection_net, continuous_projection_net
        )
        super().__init__(
            input_tensor_spec,
            lstm_encoder.state_spec,
            adn.output_spec_of(projection_networks),
            name,
        )
        self._lstm_encoder = lstm_encoder
        self._projection_networks = projection_networks
        self._output_tensor_spec = output_tensor_spec

    @property
    def output_tensor_spec(self) -> types.NestedTensorSpec:
        return self._output_tensor_spec

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> types.NestedDistribution:
        return adn.project(
            self._projection_networks,
            encoding,
            observation,
            self.input_tensor_spec,
            training,
        )
