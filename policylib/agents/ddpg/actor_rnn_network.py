"""`ActorRnnNetwork`: a recurrent deterministic actor (MLP, LSTM, MLP, tanh heads)."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import network, rnn_utils, utils
from policylib.specs import tensor_spec
from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = ["ActorRnnNetwork"]


@gin.configurable(module="policylib")
class ActorRnnNetwork(network.Network):
    """Bounded float actions from `[B, ...]` or `[B, T, ...]` observations.

    The LSTM state resets on FIRST steps; each action of the (possibly nested)
    action spec has its own tanh head scaled to its bounds.

    Args:
      input_tensor_spec: spec of the (single) observation.
      output_tensor_spec: nest of bounded float action specs.
      conv_layer_params: `(filters, kernel_size, stride)` per conv layer.
      input_fc_layer_params: dense units before the LSTM.
      lstm_size: units per stacked LSTM cell.
      output_fc_layer_params: dense units after the LSTM.
      activation_fn: activation of the input layers.
      name: network name.

    Raises:
      ValueError: more than one observation.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        output_tensor_spec: types.NestedTensorSpec,
        conv_layer_params: utils.ConvLayerParams | None = None,
        input_fc_layer_params: utils.FcLayerParams | None = (200, 100),
        lstm_size: utils.FcLayerParams | None = (40,),
        output_fc_layer_params: utils.FcLayerParams | None = (200, 100),
        activation_fn: utils.Activation | None = tf.keras.activations.relu,
        name: str = "ActorRnnNetwork",
    ):
        if len(tf.nest.flatten(input_tensor_spec)) > 1:
            raise ValueError("Only a single observation is supported by this network")
        output_tensor_spec = tensor_spec.from_spec(output_tensor_spec)
        rnn_layer = rnn_utils.recurrent_layer(lstm_size)
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            state_spec=rnn_utils.state_spec_of(rnn_layer),
            name=name,
        )
        self._input_layers = utils.mlp_layers(
            conv_layer_params,
            input_fc_layer_params,
            activation_fn=activation_fn,
            # tf.compat.v1's, as TF-Agents: seeded from the global seed under tf-keras.
            kernel_initializer=tf.compat.v1.keras.initializers.glorot_uniform(),
            name="input_mlp",
        )
        self._dynamic_unroll = rnn_layer
        self._output_layers = utils.mlp_layers(
            fc_layer_params=output_fc_layer_params, name="output"
        )
        self._output_tensor_spec = output_tensor_spec
        self._flat_action_spec = tf.nest.flatten(output_tensor_spec)
        self._action_layers = [
            tf.keras.layers.Dense(
                keras_compat.units(spec.shape.num_elements()),
                activation=tf.keras.activations.tanh,
                kernel_initializer=tf.keras.initializers.RandomUniform(
                    minval=-0.003, maxval=0.003
                ),
                name="action",
            )
            for spec in self._flat_action_spec
        ]

    def call(
        self,
        observation: types.NestedTensor,
        step_type: types.Tensor | None = None,
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        has_time_dim, observation, (step_type,) = rnn_utils.add_time_dim(
            observation, self.input_tensor_spec, step_type
        )
        squash = utils.BatchSquash(2)
        states = squash.flatten(tf.cast(tf.nest.flatten(observation)[0], tf.float32))
        states = utils.apply_layers(self._input_layers, states, training)
        states, network_state = rnn_utils.run_recurrent_squashed(
            self._dynamic_unroll,
            self._output_layers,
            squash,
            states,
            network_state,
            step_type,
            training,
        )
        actions = []
        for layer, spec in zip(self._action_layers, self._flat_action_spec):
            action = squash.unflatten(
                common.scale_to_spec(layer(states, training=training), spec)
            )
            actions.append(action if has_time_dim else tf.squeeze(action, axis=1))
        return tf.nest.pack_sequence_as(
            self._output_tensor_spec, actions
        ), network_state
