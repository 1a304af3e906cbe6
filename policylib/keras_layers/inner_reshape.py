"""`InnerReshape`: reshapes the inner (non-batch) dims of a tensor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from policylib.typing import types

__all__ = ["InnerReshape"]


@tf.keras.utils.register_keras_serializable(package="policylib")
class InnerReshape(tf.keras.layers.Layer):
    """Reshapes `[outer..., *current_shape]` to `[outer..., *new_shape]`.

    Unlike `keras.layers.Reshape`, any number of outer dims is kept (batch,
    or batch and time), which is what networks called with `[B, T, ...]`
    inputs need. A nest of tensors is reshaped tensor by tensor.

    Args:
      current_shape: the inner shape of the inputs, of known rank (None
        entries allowed).
      new_shape: the inner shape of the outputs (one entry may be -1).
      **kwargs: Keras `Layer` arguments.

    Raises:
      ValueError: `current_shape` has unknown rank; `new_shape` has more
        than one -1 or another negative entry; or both shapes are fully
        defined with different numbers of elements.
    """

    def __init__(
        self, current_shape: types.Shape, new_shape: Sequence[int], **kwargs: Any
    ):
        super().__init__(**kwargs)
        self._current_shape = tf.TensorShape(current_shape)
        if self._current_shape.rank is None:
            raise ValueError(
                "InnerReshape: current_shape must have known rank, got "
                f"{self._current_shape}."
            )
        dims = [int(d) for d in new_shape]
        if any(d < -1 for d in dims) or dims.count(-1) > 1:
            raise ValueError(
                "InnerReshape: expected new_shape of dims >= 0 and at most one -1, "
                f"got {dims}."
            )
        if (
            self._current_shape.is_fully_defined()
            and -1 not in dims
            and self._current_shape.num_elements() != int(np.prod(dims))
        ):
            raise ValueError(
                "InnerReshape: Mismatched number of elements in current and new inner "
                f"shapes: {self._current_shape} has "
                f"{self._current_shape.num_elements()}, {dims} has {int(np.prod(dims))}."
            )
        self._new_shape = dims

    def call(self, inputs: types.NestedTensor) -> types.NestedTensor:
        return tf.nest.map_structure(self._reshape, inputs)

    def _reshape(self, tensor: tf.Tensor) -> tf.Tensor:
        tensor = tf.convert_to_tensor(tensor)
        inner_rank = self._current_shape.rank
        assert inner_rank is not None  # checked in __init__
        if tensor.shape.rank is None:
            raise ValueError(
                f"InnerReshape {self.name}: inputs must have known rank, got {tensor}."
            )
        inner = tensor.shape[max(tensor.shape.rank - inner_rank, 0) :]
        if tensor.shape.rank < inner_rank or not inner.is_compatible_with(
            self._current_shape
        ):
            raise ValueError(
                f"InnerReshape {self.name}: Shapes {inner} and {self._current_shape} "
                f"are incompatible: expected inputs whose inner dims are "
                f"{self._current_shape}, got inputs of shape {tensor.shape}."
            )
        outer_rank = tensor.shape.rank - inner_rank
        outer = tf.shape(tensor)[:outer_rank]
        new_shape = tf.concat([outer, tf.constant(self._new_shape, tf.int32)], axis=0)
        result = tf.reshape(tensor, new_shape)
        new_static = [None if d == -1 else d for d in self._new_shape]
        result.set_shape(tensor.shape[:outer_rank].concatenate(new_static))
        return result

    def get_config(self) -> dict:
        config = dict(super().get_config())
        config.update(
            current_shape=self._current_shape.as_list(), new_shape=list(self._new_shape)
        )
        return config
