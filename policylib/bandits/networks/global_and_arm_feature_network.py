"""Reward networks for per-arm bandits: one reward estimate per arm.

A per-arm observation holds a global feature vector (`[B, G]`) and one
feature row per arm (`[B, A, F]`), see `specs.bandit_spec_utils`. Two
architectures map it to `[B, A]` rewards:

- common tower: a global tower and an arm tower encode their features; each
  arm's encoding, joined to the (repeated) global encoding, goes through one
  shared tower that scores it;
- dot product: both towers end in the same width, and an arm's reward is the
  dot product of its encoding with the global encoding.

    net = create_feed_forward_common_tower_network(
        obs_spec, global_layers=(8,), arm_layers=(8,), common_layers=(4,))
    rewards, _ = net(observation)  # [B, A]

An optional `num_actions` feature in the observation is ignored here (the
policies turn it into an action mask).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gin
import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.networks import encoding_network, network, q_network
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.typing import types

__all__ = [
    "GlobalAndArmCommonTowerNetwork",
    "GlobalAndArmDotProductNetwork",
    "create_feed_forward_common_tower_network",
    "create_feed_forward_dot_product_network",
]

_GLOBAL = bandit_spec_utils.GLOBAL_FEATURE_KEY
_PER_ARM = bandit_spec_utils.PER_ARM_FEATURE_KEY
_NUM_ACTIONS = bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY


def _network_input_spec(
    observation_spec: types.NestedTensorSpec,
) -> dict[str, Any]:
    """The networks' input spec: the observation spec with the arm dim dropped
    from the per-arm features (the towers see one arm's features per row).

    Raises:
      ValueError: `observation_spec` is not a dict with global and per-arm
        features, or a per-arm leaf has no arm dimension.
    """
    if not isinstance(observation_spec, Mapping) or not {_GLOBAL, _PER_ARM} <= set(
        observation_spec
    ):
        keys = (
            sorted(observation_spec)
            if isinstance(observation_spec, Mapping)
            else type(observation_spec).__name__
        )
        raise ValueError(
            f"observation_spec must be a dict with the keys '{_GLOBAL}' and "
            f"'{_PER_ARM}' (see bandit_spec_utils.create_per_arm_observation_spec); "
            f"got {keys}."
        )
    for path, spec in nest_utils.flatten_with_joined_paths(observation_spec[_PER_ARM]):
        if spec.shape.rank is None or spec.shape.rank < 1:
            where = f"{_PER_ARM}/{path}" if path else _PER_ARM
            raise ValueError(
                f"observation_spec['{where}'] must have a leading arm dimension "
                f"([num_actions, ...]); got shape {spec.shape}."
            )
    spec = {
        _GLOBAL: observation_spec[_GLOBAL],
        _PER_ARM: tensor_spec.remove_outer_dims_nest(observation_spec[_PER_ARM], 1),
    }
    if _NUM_ACTIONS in observation_spec:
        spec[_NUM_ACTIONS] = observation_spec[_NUM_ACTIONS]
    return spec


def _tower_width(
    tower: encoding_network.EncodingNetwork,
    layers: Sequence[int],
    input_spec: types.NestedTensorSpec,
) -> int:
    """The width of a tower's output: its last layer, else what it passes through.

    A tower without layers flattens its input (or its combiner's output); for
    a nest the tower is built to find the width.
    """
    if layers:
        return int(layers[-1])
    if isinstance(input_spec, tf.TensorSpec):
        return int(input_spec.shape.num_elements())
    output_spec: Any = tower.create_variables()
    return int(output_spec.shape[-1])


def _check_layers(argument: str, layers: Sequence[int]) -> list[int]:
    """`layers` as a list of positive ints; ValueError naming `argument` otherwise."""
    try:
        widths = [int(width) for width in layers]
    except (TypeError, ValueError):
        raise ValueError(
            f"{argument} must be a sequence of layer widths (ints); got {layers!r}."
        ) from None
    if any(width <= 0 for width in widths):
        raise ValueError(f"{argument} must hold positive widths; got {layers!r}.")
    return widths


@gin.configurable
def create_feed_forward_common_tower_network(
    observation_spec: types.NestedTensorSpec,
    global_layers: Sequence[int],
    arm_layers: Sequence[int],
    common_layers: Sequence[int],
    output_dim: int = 1,
    global_preprocessing_combiner: Callable[..., types.Tensor] | None = None,
    arm_preprocessing_combiner: Callable[..., types.Tensor] | None = None,
    activation_fn: Callable[[types.Tensor], types.Tensor] = tf.keras.activations.relu,
    name: str | None = None,
) -> GlobalAndArmCommonTowerNetwork:
    """A common tower network of dense towers.

    With `output_dim=1` the common tower is a `QNetwork` with one output and
    the network returns `[B, A]` reward estimates (for reward-prediction
    policies); otherwise it is an `EncodingNetwork` ending in `output_dim`
    units and the network returns `[B, A, output_dim]` encodings (for
    `NeuralLinUCBPolicy`).

    Args:
      observation_spec: per-arm observation spec (global and per-arm features).
      global_layers: widths of the global tower's dense layers (may be empty).
      arm_layers: widths of the arm tower's dense layers (may be empty).
      common_layers: widths of the common tower's hidden layers.
      output_dim: 1 for reward estimates, else the encoding width.
      global_preprocessing_combiner: combines nested global features (e.g. a
        `DenseFeatures` layer).
      arm_preprocessing_combiner: combines nested per-arm features.
      activation_fn: activation of every hidden layer.
      name: the network's name.

    Raises:
      ValueError: a bad observation spec, layer widths or `output_dim`.
    """
    input_spec = _network_input_spec(observation_spec)
    global_widths = _check_layers("global_layers", global_layers)
    arm_widths = _check_layers("arm_layers", arm_layers)
    common_widths = _check_layers("common_layers", common_layers)
    if int(output_dim) < 1:
        raise ValueError(f"output_dim must be at least 1; got {output_dim}.")
    global_network = encoding_network.EncodingNetwork(
        input_tensor_spec=input_spec[_GLOBAL],
        fc_layer_params=global_widths,
        activation_fn=activation_fn,
        preprocessing_combiner=global_preprocessing_combiner,
    )
    arm_network = encoding_network.EncodingNetwork(
        input_tensor_spec=input_spec[_PER_ARM],
        fc_layer_params=arm_widths,
        activation_fn=activation_fn,
        preprocessing_combiner=arm_preprocessing_combiner,
    )
    common_width = _tower_width(
        global_network, global_widths, input_spec[_GLOBAL]
    ) + _tower_width(arm_network, arm_widths, input_spec[_PER_ARM])
    common_input_spec = tensor_spec.TensorSpec((common_width,), tf.float32)
    common_network: network.Network
    if int(output_dim) == 1:
        common_network = q_network.QNetwork(
            input_tensor_spec=common_input_spec,
            action_spec=tensor_spec.BoundedTensorSpec((), tf.int32, 0, 0),
            fc_layer_params=common_widths,
            activation_fn=activation_fn,
        )
    else:
        common_network = encoding_network.EncodingNetwork(
            input_tensor_spec=common_input_spec,
            fc_layer_params=common_widths + [int(output_dim)],
            activation_fn=activation_fn,
        )
    return GlobalAndArmCommonTowerNetwork(
        input_spec, global_network, arm_network, common_network, name=name
    )


def create_feed_forward_dot_product_network(
    observation_spec: types.NestedTensorSpec,
    global_layers: Sequence[int],
    arm_layers: Sequence[int],
    activation_fn: Callable[[types.Tensor], types.Tensor] = tf.keras.activations.relu,
) -> GlobalAndArmDotProductNetwork:
    """A dot product network of dense towers.

    Args:
      observation_spec: per-arm observation spec (global and per-arm features).
      global_layers: widths of the global tower's dense layers.
      arm_layers: widths of the arm tower's dense layers; the last must equal
        the last of `global_layers` (the two encodings are multiplied).
      activation_fn: activation of every layer.

    Raises:
      ValueError: a tower without layers, last widths that differ, or a bad
        observation spec.
    """
    global_widths = _check_layers("global_layers", global_layers)
    arm_widths = _check_layers("arm_layers", arm_layers)
    if not global_widths or not arm_widths:
        raise ValueError(
            "A dot product network needs at least one layer in each tower; got "
            f"global_layers={global_widths}, arm_layers={arm_widths}."
        )
    if arm_widths[-1] != global_widths[-1]:
        raise ValueError(
            "Last layer size of global and arm layers should match: got "
            f"{global_widths[-1]} (global_layers) and {arm_widths[-1]} (arm_layers)."
        )
    input_spec = _network_input_spec(observation_spec)
    global_network = encoding_network.EncodingNetwork(
        input_tensor_spec=input_spec[_GLOBAL],
        fc_layer_params=global_widths,
        activation_fn=activation_fn,
    )
    arm_network = encoding_network.EncodingNetwork(
        input_tensor_spec=input_spec[_PER_ARM],
        fc_layer_params=arm_widths,
        activation_fn=activation_fn,
    )
    return GlobalAndArmDotProductNetwork(input_spec, global_network, arm_network)


def _arms_as_rows(arm_output: tf.Tensor) -> tf.Tensor:
    """Arm encodings as `[B, A, D]`.

    `[B, D]` (features of a single arm, as when the network is built from its
    spec) becomes `[B, 1, D]`; extra inner dims are folded into the arm dim.
    """
    rank = arm_output.shape.rank
    if rank == 3:
        return arm_output
    inner = arm_output.shape[1:-1]
    if any(dim is None for dim in inner):
        raise ValueError(
            "The arm tower's output must have known inner dimensions; got shape "
            f"{arm_output.shape}."
        )
    num_rows = int(np.prod(inner)) if rank > 2 else 1
    shape = tf.shape(arm_output)
    return tf.reshape(arm_output, [shape[0], num_rows, shape[-1]])


class _TwoTowerNetwork(network.Network):
    """Shared parts of the per-arm networks: the towers and their encodings."""

    _global_network: network.Network
    _arm_network: network.Network

    def _encodings(
        self,
        observation: Mapping[str, types.NestedTensor],
        step_type: types.Tensor | None,
        network_state: types.NestedTensor,
        training: bool,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """`([B, Dg] global encoding, [B, A, Da] arm encodings)`."""
        global_output, _ = self._global_network(
            observation[_GLOBAL],
            step_type=step_type,
            network_state=network_state,
            training=training,
        )
        arm_output, _ = self._arm_network(
            observation[_PER_ARM],
            step_type=step_type,
            network_state=network_state,
            training=training,
        )
        return global_output, _arms_as_rows(arm_output)

    def _copied_towers(self, names: Sequence[str], kwargs: dict) -> dict:
        """`kwargs` plus unbuilt copies of the towers it does not override, so
        a copy never shares weights with the original."""
        towers = {
            name: getattr(self, f"_{name}").copy()
            for name in names
            if name not in kwargs
        }
        return dict(kwargs, **towers)


@gin.configurable
class GlobalAndArmCommonTowerNetwork(_TwoTowerNetwork):
    """Scores each arm with a common tower over `[global encoding, arm encoding]`.

    Args:
      observation_spec: the input spec: global features and the features of
        one arm (see `create_feed_forward_common_tower_network`).
      global_network: encodes the global features to `[B, Dg]`.
      arm_network: encodes arm features to `[B, A, Da]`.
      common_network: maps `[B, A, Dg + Da]` to the outputs; a `QNetwork`'s
        single output is squeezed to `[B, A]`.
      name: the network's name.
    """

    def __init__(
        self,
        observation_spec: types.NestedTensorSpec,
        global_network: types.Network,
        arm_network: types.Network,
        common_network: types.Network,
        name: str | None = "GlobalAndArmCommonTowerNetwork",
    ):
        super().__init__(input_tensor_spec=observation_spec, state_spec=(), name=name)
        self._global_network = global_network
        self._arm_network = arm_network
        self._common_network = common_network

    def copy(self, **kwargs: Any) -> network.Network:
        towers = ("global_network", "arm_network", "common_network")
        return super().copy(**self._copied_towers(towers, kwargs))

    def call(
        self,
        observation: Mapping[str, types.NestedTensor],
        step_type: types.Tensor | None = None,
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        global_output, arm_output = self._encodings(
            observation, step_type, network_state, training
        )
        num_arms = tf.shape(arm_output)[1]
        global_per_arm = tf.tile(global_output[:, tf.newaxis, :], [1, num_arms, 1])
        common_input = tf.concat(
            [global_per_arm, tf.cast(arm_output, global_per_arm.dtype)], axis=-1
        )
        output, state = self._common_network(
            common_input, step_type=step_type, training=training
        )
        if isinstance(self._common_network, q_network.QNetwork):
            output = tf.squeeze(output, axis=-1)
        return output, state


@gin.configurable
class GlobalAndArmDotProductNetwork(_TwoTowerNetwork):
    """Scores each arm by the dot product of its encoding and the global encoding.

    Args:
      observation_spec: the input spec: global features and the features of
        one arm.
      global_network: encodes the global features to `[B, D]`.
      arm_network: encodes arm features to `[B, A, D]` (the same `D`).
      name: the network's name.
    """

    def __init__(
        self,
        observation_spec: types.NestedTensorSpec,
        global_network: types.Network,
        arm_network: types.Network,
        name: str | None = "GlobalAndArmDotProductNetwork",
    ):
        super().__init__(input_tensor_spec=observation_spec, state_spec=(), name=name)
        self._global_network = global_network
        self._arm_network = arm_network

    def copy(self, **kwargs: Any) -> network.Network:
        towers = ("global_network", "arm_network")
        return super().copy(**self._copied_towers(towers, kwargs))

    def call(
        self,
        observation: Mapping[str, types.NestedTensor],
        step_type: types.Tensor | None = None,
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        global_output, arm_output = self._encodings(
            observation, step_type, network_state, training
        )
        if global_output.shape[-1] is not None and arm_output.shape[-1] is not None:
            if global_output.shape[-1] != arm_output.shape[-1]:
                raise ValueError(
                    f"{self.name}: the global encoding has width "
                    f"{global_output.shape[-1]} but the arm encoding "
                    f"{arm_output.shape[-1]}; a dot product needs equal widths."
                )
        return tf.einsum("bad,bd->ba", arm_output, global_output), ()
