"""`CategoricalQNetwork`: per-action distributions over value atoms (C51)."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.networks import _builders, network, q_network
from policylib.networks import utils as network_utils
from policylib.specs import tensor_spec
from policylib.typing import types

__all__ = ["CategoricalQNetwork"]


@gin.configurable
class CategoricalQNetwork(_builders.EncoderThenHead, network.Network):
    """Maps observations to logits `[batch, num_actions, num_atoms]`.

    Args:
      input_tensor_spec: nest of observation specs.
      action_spec: a `BoundedTensorSpec` of the discrete actions.
      num_atoms: number of support atoms of each action's value distribution.
      preprocessing_layers ... activation_fn: see `EncodingNetwork`.
      name: network name.

    Raises:
      TypeError: `action_spec` is not bounded.
    """

    _encoder_attribute = "_q_network"

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        action_spec: tensor_spec.BoundedTensorSpec,
        num_atoms: int = 51,
        preprocessing_layers: types.NestedLayer | None = None,
        preprocessing_combiner: tf.keras.layers.Layer | None = None,
        conv_layer_params: network_utils.ConvLayerParams | None = None,
        fc_layer_params: network_utils.FcLayerParams | None = None,
        activation_fn: network_utils.Activation | None = tf.nn.relu,
        name: str = "CategoricalQNetwork",
    ):
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        if not isinstance(action_spec, tensor_spec.BoundedTensorSpec):
            raise TypeError(
                f"action_spec must be a BoundedTensorSpec. Got: {action_spec}"
            )
        self._num_actions = int(action_spec.maximum) - int(action_spec.minimum) + 1
        self._num_atoms = int(num_atoms)
        flat_action_spec = tensor_spec.BoundedTensorSpec(
            (), tf.int32, minimum=0, maximum=self._num_actions * self._num_atoms - 1
        )
        self._q_network = q_network.QNetwork(
            input_tensor_spec=input_tensor_spec,
            action_spec=flat_action_spec,
            preprocessing_layers=preprocessing_layers,
            preprocessing_combiner=preprocessing_combiner,
            conv_layer_params=conv_layer_params,
            fc_layer_params=fc_layer_params,
            activation_fn=activation_fn,
            name=name,
        )

    @property
    def num_atoms(self) -> int:
        return self._num_atoms

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> tf.Tensor:
        return tf.reshape(encoding, [-1, self._num_actions, self._num_atoms])
