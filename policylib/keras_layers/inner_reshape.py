"""`InnerReshape`: reshapes the inner (non-batch) dims of a tensor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from policylib.typing import types

__all__ = ["InnerReshape"]


@tf.keras.utils.register_keras_serializable(package="policylib")
class InnerReshape(tf.keras.layers.Layer):
    """Reshapes `[outer..., *current_shape]` to `[outer..., *new_shape]`.

    Unlike `keras.layers.Reshape`, any number of outer dims is kept (batch,
    or batch and time), which is what networks called with `[B, T, ...]`
    inputs need.

    Args:
      current_shape: the inner shape of the inputs (None entries allowed).
      new_shape: the inner shape of the outputs (one entry may be -1).
    """

    def __init__(
        self, current_shape: types.Shape, new_shape: Sequence[int], **kwargs: Any
    ):
        super().__init__(**kwargs)
        self._current_shape = tf.TensorShape(current_shape)
        self._new_shape = list(new_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        inner_rank = self._current_shape.rank
        if not self._current_shape.is_compatible_with(
            inputs.shape[-inner_rank:] if inner_rank else []
        ):
            raise ValueError(
                f"InnerReshape {self.name}: inputs of shape {inputs.shape} do not end in "
                f"{self._current_shape}."
            )
        outer = tf.shape(inputs)[: tf.rank(inputs) - inner_rank]
        new_shape = tf.concat([outer, tf.constant(self._new_shape, tf.int32)], axis=0)
        result = tf.reshape(inputs, new_shape)
        static_outer = inputs.shape[: inputs.shape.rank - inner_rank]
        new_static = [None if d == -1 else d for d in self._new_shape]
        result.set_shape(static_outer.concatenate(new_static))
        return result

    def get_config(self) -> dict:
        config = dict(super().get_config())
        config.update(
            current_shape=self._current_shape.as_list(), new_shape=self._new_shape
        )
        return config
