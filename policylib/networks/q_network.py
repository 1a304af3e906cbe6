"""`QNetwork`: an `EncodingNetwork` followed by one Q-value per discrete action."""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.networks import encoding_network, network

__all__ = ["QNetwork", "validate_specs"]


def validate_specs(action_spec: Any, observation_spec: Any) -> None:
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


def num_actions_of(action_spec: Any) -> int:
    """`maximum - minimum + 1` of the single bounded action leaf, as an int."""
    spec = tf.nest.flatten(action_spec)[0]
    return int(spec.maximum) - int(spec.minimum) + 1


@gin.configurable
class QNetwork(network.Network):
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
        input_tensor_spec: Any,
        action_spec: Any,
        preprocessing_layers: Any = None,
        preprocessing_combiner: Any = None,
        conv_layer_params: Any = None,
        fc_layer_params: Any = (75, 40),
        dropout_layer_params: Any = None,
        activation_fn: Any = tf.keras.activations.relu,
        kernel_initializer: Any = None,
        batch_squash: bool = True,
        dtype: Any = tf.float32,
        q_layer_activation_fn: Any = None,
        name: str = "QNetwork",
    ):
        validate_specs(action_spec, input_tensor_spec)
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
        q_value_layer = tf.keras.layers.Dense(
            num_actions_of(action_spec),
            activation=q_layer_activation_fn,
            kernel_initializer=tf.random_uniform_initializer(minval=-0.03, maxval=0.03),
            bias_initializer=tf.constant_initializer(-0.2),
            dtype=dtype,
        )
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        self._encoder = encoder
        self._q_value_layer = q_value_layer

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
        return self._q_value_layer(encoding, training=training), network_state
