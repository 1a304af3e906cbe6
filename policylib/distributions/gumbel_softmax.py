"""`GumbelSoftmax`: a relaxed one-hot categorical with a mode and integer one-hots."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions.type_spec_names import register_under_tf_agents_name
from policylib.typing import types

__all__ = ["GumbelSoftmax"]


class GumbelSoftmax(tfp.distributions.RelaxedOneHotCategorical):
    """TFP's `RelaxedOneHotCategorical` plus what a policy needs from it.

    - `mode()` is the one-hot of the most likely class;
    - `convert_to_one_hot(samples)` turns relaxed samples into one-hots of
      `dtype`;
    - `log_prob` of integer (discrete one-hot) values is the categorical log
      probability, and of relaxed values is nudged off the simplex boundary,
      where the relaxed density is infinite.

    Args:
      temperature: positive temperature, broadcastable to the batch shape.
      logits: class log-probabilities, `[..., num_classes]`.
      probs: class probabilities (instead of `logits`).
      dtype: dtype of one-hot actions.
    """

    def __init__(
        self,
        temperature: types.Float,
        logits: types.Tensor | None = None,
        probs: types.Tensor | None = None,
        dtype: tf.DType = tf.int32,
        validate_args: bool = False,
        allow_nan_stats: bool = True,
        name: str = "GumbelSoftmax",
    ):
        super().__init__(
            temperature=temperature,
            logits=logits,
            probs=probs,
            validate_args=validate_args,
            allow_nan_stats=allow_nan_stats,
            name=name,
        )
        self._output_dtype = dtype

    def _log_prob(self, x: tf.Tensor) -> tf.Tensor:
        logits = self.distribution.logits
        if x.dtype != logits.dtype:
            one_hot = tf.cast(x, logits.dtype)
            return tf.reduce_sum(one_hot * tf.math.log_softmax(logits), axis=-1)
        return super()._log_prob(x + 1e-10)

    def convert_to_one_hot(self, samples: tf.Tensor) -> tf.Tensor:
        """One-hot (of `dtype`) of the largest entry of each sample."""
        return tf.one_hot(
            tf.argmax(samples, axis=-1),
            self.distribution.event_size,
            dtype=self._output_dtype,
        )

    def _mode(self) -> tf.Tensor:
        return self.convert_to_one_hot(self.distribution.logits)


# Saved distributions cross to and from TF-Agents under its type-spec names.
register_under_tf_agents_name(GumbelSoftmax, "tf_agents.distributions.gumbel_softmax")
