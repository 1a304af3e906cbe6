"""`SquashedOuterWrapper`: runs a one-batch-dim layer on inputs with any outer dims."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from policylib.typing import types

__all__ = ["SquashedOuterWrapper"]


@tf.keras.utils.register_keras_serializable(package="policylib")
class SquashedOuterWrapper(tf.keras.layers.Layer):
    """Folds all outer dims of the inputs into one batch dim around `wrapped`.

    The inner dims are the last `inner_rank`; the rest are outer. With
    `inner_rank=3`, a `BatchNormalization` (or `Conv2D`, which takes exactly
    one batch dim) wrapped this way sees `[B, H, W, C]` for inputs
    `[B, H, W, C]`, and `[B*T, H, W, C]` for inputs `[B, T, H, W, C]`, whose
    outputs are unfolded back to `[B, T, ...]`.

    Args:
      wrapped: the Keras layer to run on the folded inputs.
      inner_rank: how many trailing dims `wrapped` expects after its batch dim.
      **kwargs: Keras `Layer` arguments.

    Raises:
      ValueError: `wrapped` has a `get_initial_state` method (an RNN-like
        layer, whose separate state inputs cannot be folded alike), or
        `inner_rank` is not a positive int.
    """

    def __init__(self, wrapped: tf.keras.layers.Layer, inner_rank: int, **kwargs: Any):
        if getattr(wrapped, "get_initial_state", None) is not None:
            raise ValueError(
                "SquashedOuterWrapper: expected a layer without state inputs, got "
                f"{wrapped}, which has `get_initial_state` (an RNN-like layer)."
            )
        if isinstance(inner_rank, bool) or not isinstance(
            inner_rank, (int, np.integer)
        ):
            raise ValueError(
                f"SquashedOuterWrapper: expected an int inner_rank, got {inner_rank!r}."
            )
        if inner_rank < 1:
            raise ValueError(
                f"SquashedOuterWrapper: expected inner_rank >= 1, got {inner_rank}."
            )
        super().__init__(**kwargs)
        self._inner_rank = int(inner_rank)
        self._wrapped = wrapped

    @property
    def inner_rank(self) -> int:
        return self._inner_rank

    @property
    def wrapped(self) -> tf.keras.layers.Layer:
        return self._wrapped

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # Keras 3 reads the input shape as a list before `build` or `call`
        # run, which fails with an unrelated message on an unknown rank.
        self._check_known_rank(tf.TensorShape(getattr(inputs, "shape", None)))
        return super().__call__(inputs, *args, **kwargs)

    def _check_known_rank(self, shape: tf.TensorShape) -> None:
        if shape.rank is None:
            raise ValueError(
                f"SquashedOuterWrapper {self.name}: inputs must have known rank; "
                f"input shape: {shape}."
            )
        if shape.rank <= self._inner_rank:
            raise ValueError(
                f"SquashedOuterWrapper {self.name}: expected inputs of rank > "
                f"inner_rank={self._inner_rank} (at least one outer dim), got shape "
                f"{shape}."
            )

    def _squashed_shape(self, input_shape: types.Shape) -> tf.TensorShape:
        """The shape `wrapped` sees for inputs of `input_shape`."""
        shape = tf.TensorShape(input_shape)
        self._check_known_rank(shape)
        outer = shape[: -self._inner_rank]
        batch = outer.num_elements() if outer.is_fully_defined() else None
        return tf.TensorShape([batch]).concatenate(shape[-self._inner_rank :])

    def build(self, input_shape: types.Shape) -> None:
        if not self._wrapped.built:
            self._wrapped.build(tuple(self._squashed_shape(input_shape).as_list()))
        super().build(input_shape)

    def compute_output_shape(self, input_shape: types.Shape) -> Any:
        squashed = self._wrapped.compute_output_shape(
            tuple(self._squashed_shape(input_shape).as_list())
        )
        outer = tf.TensorShape(input_shape)[: -self._inner_rank]
        shape = outer.concatenate(tf.TensorShape(squashed)[1:])
        return tuple(shape.as_list()) if isinstance(squashed, tuple) else shape

    def call(self, inputs: tf.Tensor, training: bool = False) -> types.NestedTensor:
        inputs = tf.convert_to_tensor(inputs)
        outer_rank = inputs.shape.rank - self._inner_rank
        if outer_rank == 1:
            return self._wrapped(inputs, training=training)
        dynamic_shape = tf.shape(inputs)
        squashed = tf.reshape(
            inputs, tf.concat([[-1], dynamic_shape[outer_rank:]], axis=0)
        )
        squashed.set_shape(self._squashed_shape(inputs.shape))
        outputs = self._wrapped(squashed, training=training)
        outer_shape = dynamic_shape[:outer_rank]
        static_outer = inputs.shape[:outer_rank]

        def unsquash(output: tf.Tensor) -> tf.Tensor:
            result = tf.reshape(
                output, tf.concat([outer_shape, tf.shape(output)[1:]], axis=0)
            )
            result.set_shape(static_outer.concatenate(output.shape[1:]))
            return result

        return tf.nest.map_structure(unsquash, outputs)

    def get_config(self) -> dict:
        config = dict(super().get_config())
        config.update(
            inner_rank=self._inner_rank,
            wrapped=tf.keras.layers.serialize(self._wrapped),
        )
        return config

    @classmethod
    def from_config(
        cls, config: dict, custom_objects: dict[str, object] | None = None
    ) -> SquashedOuterWrapper:
        config = dict(config)
        wrapped = tf.keras.layers.deserialize(
            config.pop("wrapped"), custom_objects=custom_objects
        )
        return cls(wrapped, **config)
