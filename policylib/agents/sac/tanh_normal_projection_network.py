"""`TanhNormalProjectionNetwork`: features -> a tanh-squashed diagonal Normal (SAC's actor head).

One dense layer gives the means and the (pre-transform) standard deviations
of a `MultivariateNormalDiag`, which is squashed into the spec's bounds with a
numerically stable tanh (`distributions.utils.scale_distribution_to_spec`).
"""

from __future__ import annotations

from collections.abc import Callable

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions import utils as distribution_utils
from policylib.networks import _builders
from policylib.networks import utils as network_utils
from policylib.specs import distribution_spec, tensor_spec
from policylib.typing import types
from policylib.utils import keras_compat

__all__ = ["TanhNormalProjectionNetwork"]


@gin.configurable
class TanhNormalProjectionNetwork(_builders.ProjectionNetwork):
    """A squashed diagonal Normal over one bounded continuous spec.

    `call(inputs, outer_rank, training=False, mask=None)`.

    Args:
      sample_spec: one bounded float action spec.
      activation_fn: activation of the projection layer.
      std_transform: raw stds -> positive stds (default `tf.exp`; SAC's
        `sac_agent.std_clip_transform` clips first).
      name: network name.

    Raises:
      ValueError: `sample_spec` is nested.
    """

    def __init__(
        self,
        sample_spec: types.BoundedTensorSpec,
        activation_fn: network_utils.Activation | None = None,
        std_transform: Callable[[tf.Tensor], tf.Tensor] | None = tf.exp,
        name: str = "TanhNormalProjectionNetwork",
    ):
        if len(tf.nest.flatten(sample_spec)) != 1:
            raise ValueError(
                "Tanh Normal Projection network only supports single spec samples, "
                f"got {sample_spec}."
            )
        super().__init__(
            input_tensor_spec=None,
            state_spec=(),
            output_spec=_squashed_normal_spec(sample_spec, name),
            name=name,
        )
        self._sample_spec = sample_spec
        self._std_transform = std_transform
        self._projection_layer = tf.keras.layers.Dense(
            keras_compat.units(sample_spec.shape.num_elements() * 2),
            activation=activation_fn,
            name="projection_layer",
        )

    def _parameters(self, inputs: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        projected = self._projection_layer(inputs, training=training)
        means, stds = tf.split(projected, num_or_size_splits=2, axis=-1)
        means = tf.reshape(means, [-1] + self._sample_spec.shape.as_list())
        if self._std_transform is not None:
            stds = self._std_transform(stds)
        dtype = self._sample_spec.dtype
        return {"loc": tf.cast(means, dtype), "scale_diag": tf.cast(stds, dtype)}


def _squashed_normal_spec(
    sample_spec: types.BoundedTensorSpec, network_name: str
) -> distribution_spec.DistributionSpec:
    """The `DistributionSpec` of a squashed `MultivariateNormalDiag(loc, scale_diag)`."""
    input_param_spec = {
        name: tensor_spec.TensorSpec(
            shape=sample_spec.shape,
            dtype=sample_spec.dtype,
            name=f"{network_name}_{name}",
        )
        for name in ("loc", "scale_diag")
    }

    def build(**kwargs: tf.Tensor) -> tfp.distributions.Distribution:
        return distribution_utils.scale_distribution_to_spec(
            tfp.distributions.MultivariateNormalDiag(**kwargs), sample_spec
        )

    return distribution_spec.DistributionSpec(
        build, input_param_spec, sample_spec=sample_spec
    )
