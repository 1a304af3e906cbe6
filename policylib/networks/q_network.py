"""`QNetwork`: an `EncodingNetwork` followed by one Q-value per discrete action."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import _builders, network
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = ["QNetwork", "validate_specs"]


def validate_specs(
    action_spec: types.NestedTensorSpec, observation_spec: types.NestedTensorSpec
) -> None:
    """Raises ValueError unless there is one action leaf of shape `()` or `(1,)`."""
    del observation_spec  # Any observation nest can be encoded.
    flat_action_spec = tf.nest.flatten(action_spec)
    if len(flat_action_spec) > 1:
        raise ValueError(
            f"Network only supports action_specs with a single action, got {action_spec}."
        )
    if flat_action_spec[0].shape not in [(), (1,)]:
        raise ValueError(
            "Network only supports action_specs with shape in [(), (1,)], got "
            f"{flat_action_spec[0].shape}."
        )


def num_actions_of(action_spec: types.NestedTensorSpec) -> int:
    """`maximum - minimum + 1` of the single bounded action leaf, as an int."""
    spec = tf.nest.flatten(action_spec)[0]
    return int(spec.maximum) - int(spec.minimum) + 1


@gin.configurable
class QNetwork(_builders.EncoderThenHead, network.Network):
    """Maps observations to `[batch, num_actions]` Q-values.

    Args:
      input_tensor_spec: nest of observation specs.
      action_spec: one bounded discrete spec of shape `()` or `(1,)`.
      preprocessing_layers, preprocessing_combiner, conv_layer_params, fc_layer_params, dropout_layer_params, activation_fn, kernel_initializer, batch_squash, dtype: see
        `EncodingNetwork`.
      q_layer_activation_fn: activation of the Q-value layer (None: linear).
      name: network name.
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
        dtype: tf.DType = tf.float32,
        q_layer_activation_fn: network_utils.Activation | None = None,
        name: str = "QNetwork",
    ):
        validate_specs(action_spec, input_tensor_spec)
        encoder = _builders.encoding_network_from(input_tensor_spec, locals())
        q_value_layer = _builders.q_value_layer(
            num_actions_of(action_spec), q_layer_activation_fn, dtype
        )
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        self._encoder = encoder
        self._q_value_layer = q_value_layer

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> tf.Tensor:
        return self._q_value_layer(encoding, training=training)
