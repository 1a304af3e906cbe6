"""`NormalProjectionNetwork`: features -> a Normal (or diagonal MVN) over a continuous spec."""

from __future__ import annotations

import sys
from collections.abc import Callable

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions import utils as distribution_utils
from policylib.keras_layers import bias_layer
from policylib.networks import _builders
from policylib.networks import utils as network_utils
from policylib.specs import distribution_spec, tensor_spec
from policylib.typing import types

__all__ = ["NormalProjectionNetwork", "tanh_squash_to_spec"]


def tanh_squash_to_spec(inputs: tf.Tensor, spec: types.BoundedTensorSpec) -> tf.Tensor:
    """Maps unbounded `inputs` into `[spec.minimum, spec.maximum]` with tanh."""
    means = (spec.maximum + spec.minimum) / 2.0
    magnitudes = (spec.maximum - spec.minimum) / 2.0
    return means + magnitudes * tf.tanh(inputs)


def _seed(seed_stream: tfp.util.SeedStream) -> int | None:
    seed = seed_stream()
    return None if seed is None else seed % sys.maxsize


@gin.configurable
class NormalProjectionNetwork(_builders.ProjectionNetwork):
    """Projects features to a Normal distribution (diagonal MVN for vector specs).

    `call(inputs, outer_rank, training=False, mask=None)`.

    Args:
      sample_spec: one bounded continuous action spec.
      activation_fn: activation of the projection layers.
      init_means_output_factor: scale of the means layer's initial weights.
      std_bias_initializer_value: initial pre-transform std.
      mean_transform: maps raw means into the spec (default: tanh squash);
        unused when `scale_distribution`.
      std_transform: maps raw stds to positive values (default: softplus).
      state_dependent_std: compute the std from the inputs (else a learned bias).
      scale_distribution: tanh-squash the whole distribution into the spec
        (`distributions.utils.SquashToSpecNormal`).
      seed: seed of the initializers.
      seed_stream_class: seed stream type.
      name: network name.
    """

    def __init__(
        self,
        sample_spec: types.BoundedTensorSpec,
        activation_fn: network_utils.Activation | None = None,
        init_means_output_factor: float = 0.1,
        std_bias_initializer_value: float = 0.0,
        mean_transform: Callable[[tf.Tensor, types.BoundedTensorSpec], tf.Tensor]
        | None = tanh_squash_to_spec,
        std_transform: Callable[[tf.Tensor], tf.Tensor] | None = tf.nn.softplus,
        state_dependent_std: bool = False,
        scale_distribution: bool = False,
        seed: int | None = None,
        seed_stream_class: type[tfp.util.SeedStream] = tfp.util.SeedStream,
        name: str = "NormalProjectionNetwork",
    ):
        if len(tf.nest.flatten(sample_spec)) != 1:
            raise ValueError(
                "Normal Projection network only supports single spec samples, got "
                f"{sample_spec}."
            )
        self._scale_distribution = scale_distribution
        output_spec = self._output_distribution_spec(sample_spec, name)
        super().__init__(
            input_tensor_spec=None, state_spec=(), output_spec=output_spec, name=name
        )
        self._sample_spec = sample_spec
        self._is_multivariate = sample_spec.shape.rank > 0
        self._mean_transform = mean_transform
        self._std_transform = std_transform
        self._state_dependent_std = state_dependent_std
        seed_stream = seed_stream_class(
            seed=seed, salt="tf_agents_normal_projection_network"
        )
        num_elements = int(sample_spec.shape.num_elements())
        self._means_projection_layer = tf.keras.layers.Dense(
            num_elements,
            activation=activation_fn,
            kernel_initializer=tf.keras.initializers.VarianceScaling(
                scale=init_means_output_factor, seed=_seed(seed_stream)
            ),
            bias_initializer=tf.keras.initializers.Zeros(),
            name="means_projection_layer",
        )
        self._stddev_projection_layer: tf.keras.layers.Layer | None = None
        if state_dependent_std:
            self._stddev_projection_layer = tf.keras.layers.Dense(
                num_elements,
                activation=activation_fn,
                kernel_initializer=tf.keras.initializers.VarianceScaling(
                    scale=init_means_output_factor, seed=_seed(seed_stream)
                ),
                bias_initializer=tf.constant_initializer(
                    value=std_bias_initializer_value
                ),
                name="stddev_projection_layer",
            )
        else:
            self._bias = bias_layer.BiasLayer(
                bias_initializer=tf.constant_initializer(
                    value=std_bias_initializer_value
                )
            )

    def _output_distribution_spec(
        self, sample_spec: types.BoundedTensorSpec, network_name: str
    ) -> distribution_spec.DistributionSpec:
        is_multivariate = sample_spec.shape.rank > 0
        input_param_spec = {
            name: tensor_spec.TensorSpec(
                shape=properties.shape_fn(sample_spec.shape),
                dtype=sample_spec.dtype,
                name=f"{network_name}_{name}",
            )
            for name, properties in tfp.distributions.Normal.parameter_properties().items()
        }
        scale_distribution = self._scale_distribution

        def _build(**kwargs: tf.Tensor) -> tfp.distributions.Distribution:
            if is_multivariate:
                kwargs["scale_diag"] = kwargs.pop("scale")
                distribution = tfp.distributions.MultivariateNormalDiag(**kwargs)
            else:
                distribution = tfp.distributions.Normal(**kwargs)
            if scale_distribution:
                return distribution_utils.scale_distribution_to_spec(
                    distribution, sample_spec
                )
            return distribution

        return distribution_spec.DistributionSpec(
            _build, input_param_spec, sample_spec=sample_spec
        )

    def _parameters(self, inputs: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        event_shape = [-1] + self._sample_spec.shape.as_list()
        means = tf.reshape(
            self._means_projection_layer(inputs, training=training), event_shape
        )
        if not self._scale_distribution and self._mean_transform is not None:
            means = self._mean_transform(means, self._sample_spec)
        means = tf.cast(means, self._sample_spec.dtype)
        if self._stddev_projection_layer is not None:
            stds = self._stddev_projection_layer(inputs, training=training)
        else:
            stds = tf.reshape(
                self._bias(tf.zeros_like(means), training=training), event_shape
            )
        if self._std_transform is not None:
            stds = self._std_transform(stds)
        return {"loc": means, "scale": tf.cast(stds, self._sample_spec.dtype)}
