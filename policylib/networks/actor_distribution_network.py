"""`ActorDistributionNetwork`: observations -> one action distribution per action leaf.

Discrete leaves get a Categorical (`CategoricalProjectionNetwork`), continuous
ones a Normal (`NormalProjectionNetwork`, initial std 0.35, tanh-squashed
means).
"""

from __future__ import annotations

from typing import Any

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.networks import (
    categorical_projection_network,
    encoding_network,
    network,
    normal_projection_network,
)
from policylib.specs import tensor_spec

__all__ = ["ActorDistributionNetwork"]


def _categorical_projection_net(
    action_spec: Any, logits_init_output_factor: float = 0.1
) -> Any:
    return categorical_projection_network.CategoricalProjectionNetwork(
        action_spec, logits_init_output_factor=logits_init_output_factor
    )


def _normal_projection_net(
    action_spec: Any,
    init_action_stddev: float = 0.35,
    init_means_output_factor: float = 0.1,
    seed_stream_class: Any = tfp.util.SeedStream,
    seed: int | None = None,
) -> Any:
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
    output_tensor_spec: Any,
    discrete_projection_net: Any,
    continuous_projection_net: Any,
    seed: int | None = None,
    seed_stream_class: Any = tfp.util.SeedStream,
) -> Any:
    """One projection network per action leaf (discrete or continuous)."""

    def _projection(spec: Any) -> Any:
        if tensor_spec.is_discrete(spec):
            return discrete_projection_net(spec)
        kwargs = {}
        if continuous_projection_net is _normal_projection_net:
            kwargs = {"seed": seed, "seed_stream_class": seed_stream_class}
        return continuous_projection_net(spec, **kwargs)

    return tf.nest.map_structure(_projection, output_tensor_spec)


def project(
    projection_networks: Any,
    encoding: tf.Tensor,
    observation: Any,
    input_tensor_spec: Any,
    training: bool,
    mask: Any = None,
) -> Any:
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
        input_tensor_spec: Any,
        output_tensor_spec: Any,
        preprocessing_layers: Any = None,
        preprocessing_combiner: Any = None,
        conv_layer_params: Any = None,
        fc_layer_params: Any = (200, 100),
        dropout_layer_params: Any = None,
        activation_fn: Any = tf.keras.activations.relu,
        kernel_initializer: Any = None,
        seed_stream_class: Any = tfp.util.SeedStream,
        seed: int | None = None,
        batch_squash: bool = True,
        dtype: Any = tf.float32,
        discrete_projection_net: Any = _categorical_projection_net,
        continuous_projection_net: Any = _normal_projection_net,
        name: str = "ActorDistributionNetwork",
    ):
        encoder = encoding_network.EncodingNetwork(
            input_tensor_spec,
            preprocessing_layers=preprocessing_layers,
            preprocessing_combiner=preprocessing_combiner,
            conv_layer_params=conv_layer_params,
            fc_layer_params=fc_layer_params,
            dropout_layer_params=dropout_layer_params,
            activation_fn=activation_fn,
            kernel_initializer=kernel_initializer
            or tf.keras.initializers.GlorotUniform(),
            batch_squash=batch_squash,
            dtype=dtype,
        )
        projection_networks = projection_networks_for(
            output_tensor_spec,
            discrete_projection_net,
            continuous_projection_net,
            seed=seed,
            seed_stream_class=seed_stream_class,
        )
        output_spec = tf.nest.map_structure(
            lambda net: net.output_spec, projection_networks
        )
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            state_spec=(),
            output_spec=output_spec,
            name=name,
        )
        self._encoder = encoder
        self._projection_networks = projection_networks
        self._output_tensor_spec = output_tensor_spec

    @property
    def output_tensor_spec(self) -> Any:
        return self._output_tensor_spec

    def call(
        self,
        observations: Any,
        step_type: Any = None,
        network_state: Any = (),
        training: bool = False,
        mask: Any = None,
    ) -> tuple[Any, Any]:
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
