"""`HeteroscedasticQNetwork`: a Q-network that also predicts each reward's variance.

Besides one expected reward per action (as `QNetwork`), a second head
predicts the log of the reward's variance per action, clipped to
`[log(min_variance), log(max_variance)]`. The outputs come as a
`QBanditNetworkResult(q_value_logits, log_variance)`, both `[B, num_actions]`;
reward-prediction policies act on `q_value_logits`, and agents can weight the
loss by the predicted variance.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import gin
import tensorflow as tf

from policylib.networks import _builders, network, q_network
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = ["HeteroscedasticQNetwork", "QBanditNetworkResult"]


class QBanditNetworkResult(NamedTuple):
    """Outputs of `HeteroscedasticQNetwork`, each `[B, num_actions]`."""

    q_value_logits: Any
    log_variance: Any


def _small_uniform() -> tf.keras.initializers.Initializer:
    return tf.random_uniform_initializer(minval=-0.03, maxval=0.03)


@gin.configurable
class HeteroscedasticQNetwork(_builders.EncoderThenHead, network.Network):
    """Maps observations to expected rewards and their log-variances.

    Args:
      input_tensor_spec: nest of observation specs.
      action_spec: one bounded discrete spec of shape `()` or `(1,)`.
      preprocessing_layers, preprocessing_combiner, conv_layer_params, fc_layer_params, dropout_layer_params, activation_fn, kernel_initializer, batch_squash, dtype: see
        `EncodingNetwork`.
      min_variance: smallest variance predicted (positive).
      max_variance: largest variance predicted (at least `min_variance`).
      name: network name.

    Raises:
      ValueError: more than one action, an action of another shape, or
        variance bounds that are not `0 < min_variance <= max_variance`.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        action_spec: types.NestedTensorSpec,
        preprocessing_layers: types.NestedLayer | None = None,
        preprocessing_combiner: tf.keras.layers.Layer | None = None,
        conv_layer_params: network_utils.ConvLayerParams | None = None,
        fc_layer_params: network_utils.FcLayerParams | None = (75, 40),
        dropout_layer_params: network_utils.DropoutLayerParams | None = None,
        activation_fn: network_utils.Activation | None = tf.keras.activations.relu,
        kernel_initializer: network_utils.Initializer | None = None,
        batch_squash: bool = True,
        min_variance: float = 0.1,
        max_variance: float = 10000.0,
        dtype: tf.DType = tf.float32,
        name: str = "HeteroscedasticQNetwork",
    ):
        q_network.validate_specs(action_spec, input_tensor_spec)
        if not 0 < min_variance <= max_variance:
            raise ValueError(
                "HeteroscedasticQNetwork needs 0 < min_variance <= max_variance; got "
                f"min_variance={min_variance}, max_variance={max_variance}."
            )
        num_actions = q_network.num_actions_of(action_spec)
        encoder = _builders.encoding_network_from(input_tensor_spec, locals())
        q_value_layer = _builders.q_value_layer(num_actions)
        log_variance_layer = tf.keras.layers.Dense(
            num_actions, kernel_initializer=_small_uniform(), dtype=dtype
        )
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        self._encoder = encoder
        self._q_value_layer = q_value_layer
        self._log_variance_layer = log_variance_layer
        self._min_variance = min_variance
        self._max_variance = max_variance

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> QBanditNetworkResult:
        log_variance = tf.clip_by_value(
            self._log_variance_layer(encoding, training=training),
            math.log(self._min_variance),
            math.log(self._max_variance),
        )
        q_value_logits = self._q_value_layer(encoding, training=training)
        return QBanditNetworkResult(q_value_logits, log_variance)
