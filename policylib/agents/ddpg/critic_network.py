"""`CriticNetwork`: `Q(s, a)` from an observation and an action (DDPG, TD3, SAC).

The observation and the action each pass through their own MLP, the two
encodings are concatenated and a joint MLP ends in one linear unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import tensorflow as tf

from policylib.agents.ddpg import actor_network
from policylib.networks import network, utils
from policylib.typing import types

__all__ = [
    "CriticNetwork",
    "check_single_observation_and_action",
    "critic_encoders",
    "encode_jointly",
]


def check_single_observation_and_action(
    input_tensor_spec: types.NestedTensorSpec, label: str
) -> tuple[types.NestedTensorSpec, types.NestedTensorSpec]:
    """`(observation_spec, action_spec)` of a critic, each a single spec.

    Raises:
      ValueError: the input is not a pair, or either side is nested.
    """
    try:
        observation_spec, action_spec = input_tensor_spec
    except (TypeError, ValueError):
        raise ValueError(
            f"{label}: input_tensor_spec must be a pair (observation_spec, "
            f"action_spec); got {input_tensor_spec}."
        ) from None
    if len(tf.nest.flatten(observation_spec)) > 1:
        raise ValueError("Only a single observation is supported by this network")
    if len(tf.nest.flatten(action_spec)) > 1:
        raise ValueError("Only a single action is supported by this network")
    return observation_spec, action_spec


def critic_encoders(
    observation_params: tuple[
        utils.ConvLayerParams | None,
        utils.FcLayerParams | None,
        utils.DropoutLayerParams | None,
    ],
    action_params: tuple[utils.FcLayerParams | None, utils.DropoutLayerParams | None],
    joint_params: tuple[utils.FcLayerParams | None, utils.DropoutLayerParams | None],
    activation_fn: utils.Activation | None,
    kernel_initializer: utils.Initializer,
) -> tuple[list, list, list]:
    """The observation, action and joint layer stacks of a critic.

    Args:
      observation_params: `(conv, fc, dropout)` layer parameters.
      action_params: `(fc, dropout)` layer parameters.
      joint_params: `(fc, dropout)` layer parameters after the concatenation.
      activation_fn: activation of every layer.
      kernel_initializer: kernel initializer of every layer.
    """
    conv, fc, dropout = observation_params
    stacks = [
        ("observation_encoding", conv, fc, dropout),
        ("action_encoding", None, *action_params),
        ("joint_mlp", None, *joint_params),
    ]
    observation, action, joint = (
        utils.mlp_layers(
            conv_layers,
            fc_layers,
            dropout_layers,
            activation_fn=activation_fn,
            kernel_initializer=kernel_initializer,
            name=name,
        )
        for name, conv_layers, fc_layers, dropout_layers in stacks
    )
    return observation, action, joint


def encode_jointly(
    observation_layers: Sequence[tf.keras.layers.Layer],
    action_layers: Sequence[tf.keras.layers.Layer],
    joint_layers: Sequence[tf.keras.layers.Layer],
    observation: tf.Tensor,
    action: tf.Tensor,
    training: bool,
) -> tf.Tensor:
    """The joint layers on the concatenated observation and action encodings."""
    joint = tf.concat(
        [
            utils.apply_layers(observation_layers, observation, training),
            utils.apply_layers(action_layers, action, training),
        ],
        -1,
    )
    return utils.apply_layers(joint_layers, joint, training)


@gin.configurable(module="policylib")
class CriticNetwork(network.Network):
    """A feed-forward critic: `([B, obs], [B, act]) -> [B]` Q values.

    Args:
      input_tensor_spec: `(observation_spec, action_spec)`, one spec each.
      observation_conv_layer_params: `(filters, kernel_size, stride)` per conv
        layer on the observation.
      observation_fc_layer_params: dense units on the observation.
      observation_dropout_layer_params: dropout per observation dense layer.
      action_fc_layer_params: dense units on the action.
      action_dropout_layer_params: dropout per action dense layer.
      joint_fc_layer_params: dense units after the concatenation.
      joint_dropout_layer_params: dropout per joint dense layer.
      activation_fn: hidden activation.
      output_activation_fn: activation of the Q unit (None: linear).
      kernel_initializer: hidden kernel initializer (DDPG's default if None).
      last_kernel_initializer: Q unit's kernel initializer (U(-0.003, 0.003)).
      last_layer: a layer replacing the default Q unit.
      name: network name.

    Raises:
      ValueError: more than one observation or action.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        observation_conv_layer_params: utils.ConvLayerParams | None = None,
        observation_fc_layer_params: utils.FcLayerParams | None = None,
        observation_dropout_layer_params: utils.DropoutLayerParams | None = None,
        action_fc_layer_params: utils.FcLayerParams | None = None,
        action_dropout_layer_params: utils.DropoutLayerParams | None = None,
        joint_fc_layer_params: utils.FcLayerParams | None = None,
        joint_dropout_layer_params: utils.DropoutLayerParams | None = None,
        activation_fn: utils.Activation | None = tf.nn.relu,
        output_activation_fn: utils.Activation | None = None,
        kernel_initializer: utils.Initializer | None = None,
        last_kernel_initializer: utils.Initializer | None = None,
        last_layer: tf.keras.layers.Layer | None = None,
        name: str = "CriticNetwork",
    ):
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        check_single_observation_and_action(input_tensor_spec, name)
        kernel_initializer, last_kernel_initializer = actor_network.ddpg_initializers(
            kernel_initializer, last_kernel_initializer
        )
        (
            self._observation_layers,
            self._action_layers,
            self._joint_layers,
        ) = critic_encoders(
            (
                observation_conv_layer_params,
                observation_fc_layer_params,
                observation_dropout_layer_params,
            ),
            (action_fc_layer_params, action_dropout_layer_params),
            (joint_fc_layer_params, joint_dropout_layer_params),
            activation_fn,
            kernel_initializer,
        )
        self._joint_layers.append(
            last_layer
            or tf.keras.layers.Dense(
                1,
                activation=output_activation_fn,
                kernel_initializer=last_kernel_initializer,
                name="value",
            )
        )

    def call(
        self,
        inputs: tuple[types.NestedTensor, types.NestedTensor],
        step_type: types.Tensor | tuple = (),
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        del step_type
        observations, actions = inputs
        joint = encode_jointly(
            self._observation_layers,
            self._action_layers,
            self._joint_layers,
            tf.cast(tf.nest.flatten(observations)[0], tf.float32),
            tf.cast(tf.nest.flatten(actions)[0], tf.float32),
            training,
        )
        return tf.reshape(joint, [-1]), network_state
