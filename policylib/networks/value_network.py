"""`ValueNetwork`: an `EncodingNetwork` followed by one scalar value per batch entry."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import _builders, network
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = ["ValueNetwork"]


@gin.configurable
class ValueNetwork(_builders.EncoderThenHead, network.Network):
    """Maps observations to values of shape `[batch]` (or `[batch, time]`).

    Args: see `EncodingNetwork`.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        preprocessing_layers: types.NestedLayer | None = None,
        preprocessing_combiner: tf.keras.layers.Layer | None = None,
        conv_layer_params: network_utils.ConvLayerParams | None = None,
        fc_layer_params: network_utils.FcLayerParams | None = (75, 40),
        dropout_layer_params: network_utils.DropoutLayerParams | None = None,
        activation_fn: network_utils.Activation | None = tf.keras.activations.relu,
        kernel_initializer: network_utils.Initializer | None = None,
        batch_squash: bool = True,
        dtype: tf.DType = tf.float32,
        name: str = "ValueNetwork",
    ):
        encoder = _builders.encoding_network_from(input_tensor_spec, locals())
        postprocessing = _builders.value_layer()
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        self._encoder = encoder
        self._postprocessing_layers = postprocessing

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> tf.Tensor:
        return tf.squeeze(self._postprocessing_layers(encoding, training=training), -1)
