"""`CategoricalProjectionNetwork`: features -> a Categorical over a discrete spec."""

from __future__ import annotations

from typing import Any

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.networks import network
from policylib.networks import utils as network_utils
from policylib.specs import distribution_spec, tensor_spec

__all__ = ["CategoricalProjectionNetwork"]


@gin.configurable
class CategoricalProjectionNetwork(network.DistributionNetwork):
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
        sample_spec: Any,
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

    def call(
        self,
        inputs: tf.Tensor,
        outer_rank: int,
        training: bool = False,
        mask: Any = None,
    ) -> tuple[Any, tuple]:
        squash = network_utils.BatchSquash(outer_rank)
        inputs = tf.cast(squash.flatten(inputs), tf.float32)
        logits = self._projection_layer(inputs, training=training)
        logits = squash.unflatten(
            tf.reshape(logits, [-1] + self._output_shape.as_list())
        )
        if mask is not None:
            if mask.shape.rank < logits.shape.rank:
                mask = tf.expand_dims(mask, -2)
            logits = tf.where(tf.cast(mask, tf.bool), logits, logits.dtype.min)
        return self.output_spec.build_distribution(logits=logits), ()
