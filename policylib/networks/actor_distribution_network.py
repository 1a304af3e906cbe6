"""`ActorDistributionNetwork`: observations -> one action distribution per action leaf.

Discrete leaves get a Categorical (`CategoricalProjectionNetwork`), continuous
ones a Normal (`NormalProjectionNetwork`, initial std 0.35, tanh-squashed
means).
"""

from __future__ import annotations

from collections.abc import Callable

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.networks import (
    _builders,
    categorical_projection_network,
    network,
    normal_projection_network,
)
from policylib.networks import utils as network_utils
from policylib.specs import tensor_spec
from policylib.typing import types

__all__ = ["ActorDistributionNetwork"]

# Builds the projection network of one action spec (`spec -> network`).
ProjectionNetFn = Callable[..., network.DistributionNetwork]


def _categorical_projection_net(
    action_spec: types.BoundedTensorSpec, logits_init_output_factor: float = 0.1
) -> network.DistributionNetwork:
    return categorical_projection_network.CategoricalProjectionNetwork(
        action_spec, logits_init_output_factor=logits_init_output_factor
    )


def _normal_projection_net(
    action_spec: types.BoundedTensorSpec,
    init_action_stddev: float = 0.35,
    init_means_output_factor: float = 0.1,
    seed_stream_class: type[tfp.util.SeedStream] = tfp.util.SeedStream,
    seed: int | None = None,
) -> network.DistributionNetwork:
    # softplus(b) == init_action_stddev.
    std_bias_initializer_value = float(np.log(np.expm1(init_action_stddev)))
    return normal_projection_network.NormalProjectionNetwork(
        action_spec,
        init_means_output_factor=init_means_output_factor,
        std_bias_initializer_value=std_bias_initializer_value,
        scale_distribution=False,
        seed_stream_class=seed_stream_class,
        seed=seed,
    )


def projection_networks_for(
    output_tensor_spec: types.NestedTensorSpec,
    discrete_projection_net: ProjectionNetFn,
    continuous_projection_net: ProjectionNetFn,
    seed: int | None = None,
    seed_stream_class: type[tfp.util.SeedStream] = tfp.util.SeedStream,
) -> types.NestedNetwork:
    """One projection network per action leaf (discrete or continuous)."""

    def _projection(spec: types.TensorSpec) -> network.DistributionNetwork:
        if tensor_spec.is_discrete(spec):
            return discrete_projection_net(spec)
        kwargs = {}
        if continuous_projection_net is _normal_projection_net:
            kwargs = {"seed": seed, "seed_stream_class": seed_stream_class}
        return continuous_projection_net(spec, **kwargs)

    return tf.nest.map_structure(_projection, output_tensor_spec)


def output_spec_of(projection_networks: types.NestedNetwork) -> types.NestedSpec:
    """The nest of the projection networks' distribution specs."""
    return tf.nest.map_structure(lambda net: net.output_spec, projection_networks)


def project(
    projection_networks: types.NestedNetwork,
    encoding: tf.Tensor,
    observation: types.NestedTensor,
    input_tensor_spec: types.NestedTensorSpec,
    training: bool,
    mask: tf.Tensor | None = None,
) -> types.NestedDistribution:
    """Runs each projection network on the encoding of `observation`; returns distributions."""
    outer_rank = nest_utils.get_outer_rank(observation, input_tensor_spec)
    kwargs = {} if mask is None else {"mask": mask}
    return tf.nest.map_structure(
        lambda net: net(encoding, outer_rank, training=training, **kwargs)[0],
        projection_networks,
    )


@gin.configurable
class ActorDistributionNetwork(network.DistributionNetwork):
    """An `EncodingNetwork` followed by per-action projection networks.

    Args:
      input_tensor_spec: nest of observation specs.
      output_tensor_spec: nest of action specs.
      preprocessing_layers ... dtype: see `EncodingNetwork` (the default
        kernel initializer here is Glorot uniform).
      seed_stream_class, seed: seeding of the Normal projections.
      discrete_projection_net: `spec -> network` for discrete leaves.
      continuous_projection_net: `spec -> network` for continuous leaves.
      name: network name.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        output_tensor_spec: types.NestedTensorSpec,
        preprocessing_layers: types.NestedLayer | None = None,
        preprocessing_combiner: tf.keras.layers.Layer | None = None,
        conv_layer_params: network_utils.ConvLayerParams | None = None,
        fc_layer_params: network_utils.FcLayerParams | None = (200, 100),
        dropout_layer_params: network_utils.DropoutLayerParams | None = None,
        activation_fn: network_utils.Activation | None = tf.keras.activations.relu,
        kernel_initializer: network_utils.Initializer | None = None,
        seed_stream_class: type[tfp.util.SeedStream] = tfp.util.SeedStream,
        seed: int | None = None,
        batch_squash: bool = True,
        dtype: tf.DType = tf.float32,
        discrete_projection_net: ProjectionNetFn = _categorical_projection_net,
        continuous_projection_net: ProjectionNetFn = _normal_projection_net,
        name: str = "ActorDistributionNetwork",
    ):
        encoder = _builders.encoding_network_from(
            input_tensor_spec,
            locals(),
            kernel_initializer=kernel_initializer
            or tf.keras.initializers.GlorotUniform(),
        )
        projection_networks = projection_networks_for(
            output_tensor_spec,
            discrete_projection_net,
            continuous_projection_net,
            seed=seed,
            seed_stream_class=seed_stream_class,
        )
        super().__init__(
            input_tensor_spec, (), output_spec_of(projection_networks), name
        )
        self._encoder = encoder
        self._projection_networks = projection_networks
        self._output_tensor_spec = output_tensor_spec

    @property
    def output_tensor_spec(self) -> types.NestedTensorSpec:
        return self._output_tensor_spec

    def call(
        self,
        observations: types.NestedTensor,
        step_type: types.Tensor | None = None,
        network_state: types.NestedTensor = (),
        training: bool = False,
        mask: tf.Tensor | None = None,
    ) -> tuple[types.NestedDistribution, types.NestedTensor]:
        encoding, network_state = self._encoder(
            observations,
            step_type=step_type,
            network_state=network_state,
            training=training,
        )
        distributions = project(
            self._projection_networks,
            encoding,
            observations,
            self.input_tensor_spec,
            training,
            mask,
        )
        return distributions, network_state
