"""`ShiftedCategorical`: a categorical over `[shift, shift + K)` instead of `[0, K)`."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions.type_spec_names import register_under_tf_agents_name
from policylib.typing import types

__all__ = ["ShiftedCategorical"]


class ShiftedCategorical(tfp.distributions.Categorical):
    """A `Categorical` whose outcomes are offset by `shift`.

    Samples and the mode are shifted up; values passed to `log_prob`, `prob`,
    `cdf` and `log_cdf` are shifted down first. Useful for action specs whose
    minimum is not 0.
    """

    def __init__(
        self,
        logits: types.Tensor | None = None,
        probs: types.Tensor | None = None,
        dtype: tf.DType = tf.int32,
        force_probs_to_zero_outside_support: bool = False,
        validate_args: bool = False,
        allow_nan_stats: bool = True,
        shift: types.Int | None = None,
        name: str = "ShiftedCategorical",
    ):
        if shift is None:
            raise ValueError("ShiftedCategorical needs a shift.")
        parameters = dict(locals())
        self._shift = shift
        super().__init__(
            logits=logits,
            probs=probs,
            dtype=dtype,
            force_probs_to_zero_outside_support=force_probs_to_zero_outside_support,
            validate_args=validate_args,
            allow_nan_stats=allow_nan_stats,
            name=name,
        )
        self._parameters = parameters

    @property
    def shift(self) -> types.Int | None:
        return self._shift

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(
            logits=tfp.util.ParameterProperties(event_ndims=1),
            probs=tfp.util.ParameterProperties(event_ndims=1),
        )

    def _unshift(self, value: types.Tensor) -> tf.Tensor:
        return tf.convert_to_tensor(value) - tf.cast(
            self._shift, tf.convert_to_tensor(value).dtype
        )

    def _reshift(self, value: tf.Tensor) -> tf.Tensor:
        return value + tf.cast(self._shift, value.dtype)

    def log_prob(self, value: types.Tensor, name: str = "log_prob") -> tf.Tensor:
        return super().log_prob(self._unshift(value), name=name)

    def prob(self, value: types.Tensor, name: str = "prob") -> tf.Tensor:
        return super().prob(self._unshift(value), name=name)

    def cdf(self, value: types.Tensor, name: str = "cdf") -> tf.Tensor:
        return super().cdf(self._unshift(value), name=name)

    def log_cdf(self, value: types.Tensor, name: str = "log_cdf") -> tf.Tensor:
        return super().log_cdf(self._unshift(value), name=name)

    def mode(self, name: str = "mode") -> tf.Tensor:
        return self._reshift(super().mode(name=name))

    def sample(
        self,
        sample_shape: types.Shape = (),
        seed: types.Seed = None,
        name: str = "sample",
        **kwargs,
    ):
        return self._reshift(
            super().sample(sample_shape, seed=seed, name=name, **kwargs)
        )


# Saved distributions cross to and from TF-Agents under its type-spec names.
register_under_tf_agents_name(
    ShiftedCategorical, "tf_agents.distributions.shifted_categorical"
)
