"""`ActorNetwork`: a deterministic actor (MLP, tanh, scaled to the action bounds).

Used with `actor_policy.ActorPolicy` (DDPG/TD3-style): the network returns the
action itself. `tanh` squashing means the bounds are approached, not reached.
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import network, utils
from policylib.specs import tensor_spec
from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = ["ActorNetwork", "ddpg_initializers"]


def ddpg_initializers(
    kernel_initializer: utils.Initializer | None,
    last_kernel_initializer: utils.Initializer | None,
) -> tuple[utils.Initializer, utils.Initializer]:
    """DDPG's defaults for None: VarianceScaling(1/3, fan_in, uniform) for hidden
    kernels, U(-0.003, 0.003) for the output layer (Lillicrap et al., 2015).

    The hidden one is `tf.compat.v1.keras`'s, as in TF-Agents: under tf-keras an
    unseeded one draws from the global seed, so seeded networks start from
    TF-Agents' weights; under Keras 3 it is Keras 3's own class.
    """
    if kernel_initializer is None:
        kernel_initializer = tf.compat.v1.keras.initializers.VarianceScaling(
            scale=1.0 / 3.0, mode="fan_in", distribution="uniform"
        )
    if last_kernel_initializer is None:
        last_kernel_initializer = tf.keras.initializers.RandomUniform(
            minval=-0.003, maxval=0.003
        )
    return kernel_initializer, last_kernel_initializer


@gin.configurable(module="policylib")
class ActorNetwork(network.Network):
    """MLP from one observation to one bounded float action.

    Args:
      input_tensor_spec: spec of the (single) observation.
      output_tensor_spec: bounded float spec of the (single) action.
      fc_layer_params: units per hidden dense layer.
      dropout_layer_params: dropout rate (or Dropout kwargs) per dense layer.
      conv_layer_params: `(filters, kernel_size, stride)` per conv layer.
      activation_fn: hidden activation.
      kernel_initializer: hidden kernel initializer; VarianceScaling(1/3,
        fan_in, uniform) if None.
      last_kernel_initializer: output kernel initializer; uniform in
        [-0.003, 0.003] if None.
      name: network name.

    Raises:
      ValueError: more than one observation or action, or a non-float action.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        output_tensor_spec: types.NestedTensorSpec,
        fc_layer_params: utils.FcLayerParams | None = None,
        dropout_layer_params: utils.DropoutLayerParams | None = None,
        conv_layer_params: utils.ConvLayerParams | None = None,
        activation_fn: utils.Activation | None = tf.keras.activations.relu,
        kernel_initializer: utils.Initializer | None = None,
        last_kernel_initializer: utils.Initializer | None = None,
        name: str = "ActorNetwork",
    ):
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        output_tensor_spec = tensor_spec.from_spec(output_tensor_spec)
        if len(tf.nest.flatten(input_tensor_spec)) > 1:
            raise ValueError("Only a single observation is supported by this network")
        flat_action_spec = tf.nest.flatten(output_tensor_spec)
        if len(flat_action_spec) > 1:
            raise ValueError("Only a single action is supported by this network")
        self._single_action_spec = flat_action_spec[0]
        if self._single_action_spec.dtype not in (tf.float32, tf.float64):
            raise ValueError(
                "Only float actions are supported by this network; got "
                f"{self._single_action_spec}."
            )
        kernel_initializer, last_kernel_initializer = ddpg_initializers(
            kernel_initializer, last_kernel_initializer
        )
        self._mlp_layers = utils.mlp_layers(
            conv_layer_params,
            fc_layer_params,
            dropout_layer_params,
            activation_fn=activation_fn,
            kernel_initializer=kernel_initializer,
            name="input_mlp",
        )
        self._mlp_layers.append(
            tf.keras.layers.Dense(
                keras_compat.units(self._single_action_spec.shape.num_elements()),
                activation=tf.keras.activations.tanh,
                kernel_initializer=last_kernel_initializer,
                name="action",
            )
        )
        self._output_tensor_spec = output_tensor_spec

    def call(
        self,
        observations: types.NestedTensor,
        step_type: types.Tensor | tuple = (),
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        del step_type
        output = utils.apply_layers(
            self._mlp_layers,
            tf.cast(tf.nest.flatten(observations)[0], tf.float32),
            training,
        )
        actions = common.scale_to_spec(output, self._single_action_spec)
        return tf.nest.pack_sequence_as(
            self._output_tensor_spec, [actions]
        ), network_state
