"""Dropout whose rate may change over time and that may stay on at inference."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.typing import types

__all__ = ["PermanentVariableRateDropout"]


@tf.keras.utils.register_keras_serializable(package="policylib")
class PermanentVariableRateDropout(tf.keras.layers.Layer):
    """Dropout with a rate that may be a callable, optionally applied always.

    Args:
      rate: the drop probability, or a zero-argument callable returning it
        (read at every call, e.g. a schedule).
      permanent: apply dropout at inference too (for MC-dropout policies).
      seed: op seed.
    """

    def __init__(
        self,
        rate: types.FloatOrReturningFloat,
        permanent: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self._permanent = permanent

    def call(
        self, inputs: tf.Tensor, training: bool | tf.Tensor | None = None
    ) -> tf.Tensor:
        if not (self._permanent or training):
            return inputs
        rate = self.rate() if callable(self.rate) else self.rate
        return tf.nn.dropout(inputs, rate=rate, seed=self.seed)

    def get_config(self) -> dict:
        config = dict(super().get_config())
        if callable(self.rate):
            raise ValueError(f"{self.name}: a callable rate cannot be serialized.")
        config.update(rate=self.rate, permanent=self._permanent, seed=self.seed)
        return config
