"""`ExpandDims`: a Keras layer that inserts a dimension of size 1."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["ExpandDims"]


@tf.keras.utils.register_keras_serializable(package="policylib")
class ExpandDims(tf.keras.layers.Layer):
    """Inserts a size-1 dimension at `axis`.

    A non-negative `axis` counts inner dims (the batch dim is skipped:
    `axis=0` makes `[B, N]` into `[B, 1, N]`); a negative one counts from the
    end (`axis=-1` makes `[B, N]` into `[B, N, 1]`).
    """

    def __init__(self, axis: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = axis

    def _tensor_axis(self) -> int:
        return self.axis if self.axis < 0 else self.axis + 1

    def compute_output_shape(self, input_shape: Any) -> tf.TensorShape:
        shape = tf.TensorShape(input_shape)
        if shape.rank is None:
            return shape
        dims = shape.as_list()
        position = self._tensor_axis()
        position = position if position >= 0 else len(dims) + 1 + position
        return tf.TensorShape(dims[:position] + [1] + dims[position:])

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.expand_dims(inputs, self._tensor_axis())

    def get_config(self) -> dict:
        return dict(super().get_config(), axis=self.axis)
