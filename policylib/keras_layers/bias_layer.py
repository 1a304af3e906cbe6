"""`BiasLayer`: adds a learned bias (e.g. the state-independent log std of a Normal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from policylib.typing import types
from policylib.utils import keras_compat

__all__ = ["BiasLayer"]


@tf.keras.utils.register_keras_serializable(package="policylib")
class BiasLayer(tf.keras.layers.Layer):
    """`outputs = inputs + bias`, with one bias per entry of the last axis.

    Args:
      bias_initializer: initializer of the bias.
      **kwargs: Keras `Layer` arguments.
    """

    def __init__(
        self, bias_initializer: str | Callable[..., tf.Tensor] = "zeros", **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.bias_initializer = tf.keras.initializers.get(bias_initializer)
        self.bias = None

    def build(self, input_shape: types.Shape) -> None:
        input_shape = tf.TensorShape(input_shape)
        if input_shape.rank == 1:
            input_shape = input_shape.concatenate([1])
        last_dim = tf.compat.dimension_value(input_shape[-1])
        if last_dim is None:
            raise ValueError(
                f"BiasLayer {self.name}: the last dimension of the inputs must be known, "
                f"got shape {input_shape}."
            )
        self.bias = keras_compat.add_weight(
            self,
            "bias",
            shape=[last_dim],
            initializer=self.bias_initializer,
            dtype=self.dtype,
            trainable=True,
        )
        super().build(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        if inputs.shape.rank == 1:
            return tf.nn.bias_add(tf.expand_dims(inputs, -1), self.bias)[..., 0]
        return tf.nn.bias_add(inputs, self.bias)

    def compute_output_shape(self, input_shape: types.Shape) -> types.Shape:
        return input_shape

    def get_config(self) -> dict:
        config = dict(super().get_config())
        config["bias_initializer"] = tf.keras.initializers.serialize(
            self.bias_initializer
        )
        return config
