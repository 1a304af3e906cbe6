"""`MaskedCategorical`: a categorical distribution over the allowed actions only."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions.type_spec_names import register_under_tf_agents_name
from policylib.typing import types

__all__ = ["MaskedCategorical"]


class MaskedCategorical(tfp.distributions.Categorical):
    """A `Categorical` whose logits are pushed to `neg_inf` where `mask` is 0.

    Args:
      logits: `[..., K]` unnormalized log probabilities.
      mask: `[..., K]` boolean (or 0/1) tensor; True marks allowed actions.
      probs: must be None; masking is defined on logits.
      dtype: dtype of samples.
      neg_inf: logit given to masked entries; the dtype's minimum if None.
    """

    def __init__(
        self,
        logits: types.Tensor,
        mask: types.Tensor,
        probs: types.Tensor | None = None,
        dtype: tf.DType = tf.int32,
        validate_args: bool = False,
        allow_nan_stats: bool = True,
        neg_inf: float | None = -1e10,
        name: str = "MaskedCategorical",
    ):
        if probs is not None:
            raise ValueError("MaskedCategorical takes logits, not probs.")
        parameters = dict(locals())
        logits = tf.convert_to_tensor(logits)
        mask = tf.cast(tf.convert_to_tensor(mask), tf.bool)
        if neg_inf is None:
            neg_inf = logits.dtype.min
        masked_logits = tf.where(mask, logits, tf.constant(neg_inf, logits.dtype))
        self._mask = mask
        self._neg_inf = neg_inf
        super().__init__(
            logits=masked_logits,
            dtype=dtype,
            validate_args=validate_args,
            allow_nan_stats=allow_nan_stats,
            name=name,
        )
        self._parameters = parameters

    @property
    def mask(self) -> tf.Tensor:
        return self._mask

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(
            logits=tfp.util.ParameterProperties(event_ndims=1),
            mask=tfp.util.ParameterProperties(event_ndims=1),
        )


# Saved distributions cross to and from TF-Agents under its type-spec names.
register_under_tf_agents_name(MaskedCategorical, "tf_agents.distributions.masked")
