"""`CategoricalProjectionNetwork`: features -> a Categorical over a discrete spec."""

from __future__ import annotations

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.networks import _builders
from policylib.specs import distribution_spec, tensor_spec
from policylib.typing import types

__all__ = ["CategoricalProjectionNetwork"]


@gin.configurable
class CategoricalProjectionNetwork(_builders.ProjectionNetwork):
    """Projects features to logits of shape `spec.shape + [num_actions]`.

    `call(inputs, outer_rank, training=False, mask=None)`; masked actions get
    the lowest representable logit.

    Args:
      sample_spec: a bounded discrete spec; every element must have the same
        number of actions.
      logits_init_output_factor: scale of the logits layer's initial weights.
      name: network name.
    """

    def __init__(
        self,
        sample_spec: types.BoundedTensorSpec,
        logits_init_output_factor: float = 0.1,
        name: str = "CategoricalProjectionNetwork",
    ):
        if not tensor_spec.is_bounded(sample_spec):
            raise ValueError(f"sample_spec must be bounded. Got: {type(sample_spec)}.")
        if not tensor_spec.is_discrete(sample_spec):
            raise ValueError(f"sample_spec must be discrete. Got: {sample_spec}.")
        num_actions = np.unique(
            np.asarray(sample_spec.maximum, np.int64)
            - np.asarray(sample_spec.minimum, np.int64)
            + 1
        )
        if len(num_actions) > 1 or np.any(num_actions <= 0):
            raise ValueError(
                "Bounds on discrete actions must be the same for all dimensions and have at "
                f"least 1 action; got numbers of actions {num_actions.tolist()} for "
                f"{sample_spec}."
            )
        output_shape = sample_spec.shape.concatenate([int(num_actions.item())])
        output_spec = distribution_spec.DistributionSpec(
            tfp.distributions.Categorical,
            {
                "logits": tensor_spec.TensorSpec(
                    output_shape, tf.float32, name=f"{name}_logits"
                )
            },
            sample_spec=sample_spec,
            dtype=sample_spec.dtype,
        )
        super().__init__(
            input_tensor_spec=None, state_spec=(), output_spec=output_spec, name=name
        )
        self._sample_spec = sample_spec
        self._output_shape = output_shape
        self._projection_layer = tf.keras.layers.Dense(
            int(output_shape.num_elements()),
            kernel_initializer=tf.keras.initializers.VarianceScaling(
                scale=logits_init_output_factor
            ),
            bias_initializer=tf.keras.initializers.Zeros(),
            name="logits",
        )

    def _check_inputs(self, inputs: tf.Tensor, mask: tf.Tensor | None) -> None:
        """Any inputs are cast to float32, and masks are applied."""

    def _parameters(self, inputs: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        logits = self._projection_layer(tf.cast(inputs, tf.float32), training=training)
        return {"logits": tf.reshape(logits, [-1] + self._output_shape.as_list())}

    def _masked(
        self, parameters: dict[str, tf.Tensor], mask: tf.Tensor | None
    ) -> dict[str, tf.Tensor]:
        """Masked-out actions get the lowest representable logit."""
        if mask is None:
            return parameters
        logits = parameters["logits"]
        if mask.shape.rank < logits.shape.rank:
            mask = tf.expand_dims(mask, -2)
        return {"logits": tf.where(tf.cast(mask, tf.bool), logits, logits.dtype.min)}
