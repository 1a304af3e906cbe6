"""`DuelingQNetwork`: a `QNetwork` whose Q-values split into state value and advantage.

The dueling architecture (Wang et al. 2016, https://arxiv.org/abs/1511.06581)
puts two heads on the shared encoding: a state value `V(s)` (one unit) and
per-action advantages `A(s, a)`, combined as `Q = V + A - mean_a(A)`. Taking
out the mean makes the split identifiable, and leaves the greedy action the
argmax of `A`, so any DQN-family agent (`DqnAgent`, `DdqnAgent`) trains it
unchanged.

TF-Agents' main branch returns the pair `(Q, A)` as the network output and
unpacks it in its agents; this network returns `Q` alone, the output every
agent and policy of TF-Agents 0.19 (and policylib) expects.
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import _builders, q_network
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = ["DuelingQNetwork"]


@gin.configurable
class DuelingQNetwork(q_network.QNetwork):
    """Maps observations to `[batch, num_actions]` Q-values through value and advantage heads.

    The advantage head is `QNetwork`'s Q-value layer (`_q_value_layer`, so its
    checkpoint entries keep TF-Agents' names); the value head is
    `_dueling_layer`, a one-unit dense layer initialised like it.

    Args:
      input_tensor_spec, action_spec, preprocessing_layers, preprocessing_combiner, conv_layer_params, fc_layer_params, dropout_layer_params, activation_fn, kernel_initializer, batch_squash, dtype: see
        `QNetwork`.
      q_layer_activation_fn: activation of the advantage layer (None: linear).
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
        name: str = "DuelingQNetwork",
    ):
        super().__init__(
            input_tensor_spec,
            action_spec,
            preprocessing_layers=preprocessing_layers,
            preprocessing_combiner=preprocessing_combiner,
            conv_layer_params=conv_layer_params,
            fc_layer_params=fc_layer_params,
            dropout_layer_params=dropout_layer_params,
            activation_fn=activation_fn,
            kernel_initializer=kernel_initializer,
            batch_squash=batch_squash,
            dtype=dtype,
            q_layer_activation_fn=q_layer_activation_fn,
            name=name,
        )
        # Same small initialisation as the advantage head: one state value.
        self._dueling_layer = _builders.q_value_layer(1, None, dtype)

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> tf.Tensor:
        advantage = self._q_value_layer(encoding, training=training)
        value = self._dueling_layer(encoding, training=training)
        # Outer (batch, time) dims are kept by the encoder; actions are last.
        return value + advantage - tf.reduce_mean(advantage, axis=-1, keepdims=True)
