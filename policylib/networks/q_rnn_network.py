"""`QRnnNetwork`: an `LSTMEncodingNetwork` with a Q-value head (a stateful QNetwork)."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import _builders, lstm_encoding_network, q_network, rnn_utils
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = ["QRnnNetwork"]


@gin.configurable
class QRnnNetwork(lstm_encoding_network.LSTMEncodingNetwork):
    """Recurrent Q-network: Q-values `[B, num_actions]` (or `[B, T, num_actions]`).

    Args: see `LSTMEncodingNetwork`; `action_spec` is one bounded discrete
    spec of shape `()` or `(1,)`.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        action_spec: types.NestedTensorSpec,
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
        name: str = "QRnnNetwork",
    ):
        q_network.validate_specs(action_spec, input_tensor_spec)
        q_projection = _builders.q_value_layer(
            q_network.num_actions_of(action_spec),
            dtype=dtype,
            name="num_action_project_dense",
        )
        super().__init__(
            **_builders.arguments_among(locals(), _builders.LSTM_ENCODER_ARGUMENTS)
        )
        self._output_encoder.append(q_projection)
