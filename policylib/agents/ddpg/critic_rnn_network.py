"""`CriticRnnNetwork`: a recurrent `Q(s, a)` (MLPs, joint MLP, LSTM, MLP, Q unit)."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.agents.ddpg import actor_network, critic_network
from policylib.networks import network, rnn_utils, utils
from policylib.typing import types

__all__ = ["CriticRnnNetwork"]


@gin.configurable(module="policylib")
class CriticRnnNetwork(network.Network):
    """Q values `[B]` or `[B, T]` from observations and actions of that shape.

    Args:
      input_tensor_spec: `(observation_spec, action_spec)`, one spec each.
      observation_conv_layer_params: conv layers on the observation.
      observation_fc_layer_params: dense units on the observation.
      action_fc_layer_params: dense units on the action.
      joint_fc_layer_params: dense units after the concatenation, before the LSTM.
      lstm_size: units per stacked LSTM cell.
      output_fc_layer_params: dense units after the LSTM.
      activation_fn: activation of the encoding layers.
      kernel_initializer: encoding kernel initializer (DDPG's default if None).
      last_kernel_initializer: Q unit's kernel initializer (U(-0.003, 0.003)).
      rnn_construction_fn: builds a custom recurrent layer instead of `lstm_size`.
      rnn_construction_kwargs: its keyword arguments.
      name: network name.

    Raises:
      ValueError: more than one observation or action; neither or both of
        `lstm_size` and `rnn_construction_fn`.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        observation_conv_layer_params: utils.ConvLayerParams | None = None,
        observation_fc_layer_params: utils.FcLayerParams | None = (200,),
        action_fc_layer_params: utils.FcLayerParams | None = (200,),
        joint_fc_layer_params: utils.FcLayerParams | None = (100,),
        lstm_size: utils.FcLayerParams | None = None,
        output_fc_layer_params: utils.FcLayerParams | None = (200, 100),
        activation_fn: utils.Activation | None = tf.keras.activations.relu,
        kernel_initializer: utils.Initializer | None = None,
        last_kernel_initializer: utils.Initializer | None = None,
        rnn_construction_fn: rnn_utils.RnnConstructionFn | None = None,
        rnn_construction_kwargs: dict[str, object] | None = None,
        name: str = "CriticRnnNetwork",
    ):
        rnn_layer = rnn_utils.recurrent_layer(
            lstm_size, rnn_construction_fn, rnn_construction_kwargs
        )
        observation_spec, _ = critic_network.check_single_observation_and_action(
            input_tensor_spec, name
        )
        kernel_initializer, last_kernel_initializer = actor_network.ddpg_initializers(
            kernel_initializer, last_kernel_initializer
        )
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            state_spec=rnn_utils.state_spec_of(rnn_layer),
            name=name,
        )
        (
            self._observation_layers,
            self._action_layers,
            self._joint_layers,
        ) = critic_network.critic_encoders(
            (observation_conv_layer_params, observation_fc_layer_params, None),
            (action_fc_layer_params, None),
            (joint_fc_layer_params, None),
            activation_fn,
            kernel_initializer,
        )
        self._observation_spec = observation_spec
        self._lstm_network = rnn_layer
        self._output_layers = utils.mlp_layers(
            fc_layer_params=output_fc_layer_params, name="output"
        )
        self._output_layers.append(
            tf.keras.layers.Dense(
                1, kernel_initializer=last_kernel_initializer, name="value"
            )
        )

    def call(
        self,
        inputs: tuple[types.NestedTensor, types.NestedTensor],
        step_type: types.Tensor | None = None,
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        observation, action = inputs
        has_time_dim, observation, (action, step_type) = rnn_utils.add_time_dim(
            observation, self._observation_spec, action, step_type
        )
        squash = utils.BatchSquash(2)
        observation = squash.flatten(
            tf.cast(tf.nest.flatten(observation)[0], tf.float32)
        )
        action = squash.flatten(tf.cast(tf.nest.flatten(action)[0], tf.float32))
        joint = critic_network.encode_jointly(
            self._observation_layers,
            self._action_layers,
            self._joint_layers,
            observation,
            action,
            training,
        )
        output, network_state = rnn_utils.run_recurrent_squashed(
            self._lstm_network,
            self._output_layers,
            squash,
            joint,
            network_state,
            step_type,
            training,
        )
        q_values = squash.unflatten(tf.reshape(output, [-1]))
        if not has_time_dim:
            q_values = tf.squeeze(q_values, axis=1)
        return q_values, network_state
