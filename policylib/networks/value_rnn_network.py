"""`ValueRnnNetwork`: an `LSTMEncodingNetwork` with a scalar value head."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import _builders, network
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = ["ValueRnnNetwork"]


@gin.configurable
class ValueRnnNetwork(_builders.EncoderThenHead, network.Network):
    """Recurrent value network: values `[B]` (or `[B, T]`).

    Args: see `LSTMEncodingNetwork`.
    """

    _encoder_attribute = "_lstm_encoder"

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        preprocessing_layers: types.NestedLayer | None = None,
        preprocessing_combiner: tf.keras.layers.Layer | None = None,
        conv_layer_params: network_utils.ConvLayerParams | None = None,
        input_fc_layer_params: network_utils.FcLayerParams | None = (75, 40),
        input_dropout_layer_params: network_utils.DropoutLayerParams | None = None,
        lstm_size: network_utils.FcLayerParams | None = (40,),
        output_fc_layer_params: network_utils.FcLayerParams | None = (75, 40),
        activation_fn: network_utils.Activation | None = tf.keras.activations.relu,
        dtype: tf.DType = tf.float32,
        name: str = "ValueRnnNetwork",
    ):
        if input_dropout_layer_params:
            raise ValueError("Dropout layer is not supported.")
        lstm_encoder = _builders.lstm_encoding_network_from(locals())
        postprocessing = _builders.value_layer()
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            state_spec=lstm_encoder.state_spec,
            name=name,
        )
        self._lstm_encoder = lstm_encoder
        self._postprocessing_layers = postprocessing

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> tf.Tensor:
        return tf.squeeze(self._postprocessing_layers(encoding, training=training), -1)
