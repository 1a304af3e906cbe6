"""Sampling that can insist on reparameterized (differentiable) samples."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ["sample"]


def sample(
    distribution: tfp.distributions.Distribution, reparam: bool = False, **kwargs: Any
):
    """Draws `distribution.sample(**kwargs)`.

    Args:
      distribution: the distribution to sample.
      reparam: require a fully reparameterized distribution, so gradients
        flow through the sample; ValueError otherwise.
      **kwargs: forwarded to `sample` (e.g. `seed`, `sample_shape`).

    Gumbel-softmax distributions yield one-hot samples of their own dtype.
    """
    if reparam and (
        distribution.reparameterization_type != tfp.distributions.FULLY_REPARAMETERIZED
    ):
        raise ValueError(
            f"{distribution.name} is not fully reparameterized, but reparam=True was asked."
        )
    if isinstance(distribution, tfp.distributions.Deterministic) and not kwargs.get(
        "sample_shape"
    ):
        # A point mass's sample is its location, whose shape is the batch shape:
        # skip the shape arithmetic and broadcast `sample` adds to every step
        # of a greedy or deterministic policy's graph.
        return tf.identity(distribution.loc)
    value = distribution.sample(**kwargs)
    if (
        isinstance(distribution, tfp.distributions.RelaxedOneHotCategorical)
        or type(distribution).__name__ == "GumbelSoftmax"
    ):
        depth = tf.shape(value)[-1]
        value = tf.one_hot(tf.argmax(value, axis=-1), depth, dtype=distribution.dtype)
    return value
