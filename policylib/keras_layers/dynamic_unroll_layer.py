"""`DynamicUnroll`: runs an RNN cell over `[B, T, ...]` inputs, resetting on episode starts."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.keras_layers import rnn_wrapper
from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = ["DynamicUnroll"]


@tf.keras.utils.register_keras_serializable(package="policylib")
class DynamicUnroll(tf.keras.layers.Layer):
    """Unrolls `cell` over time; `reset_mask[b, t]` zeroes the state before step `t`.

    Inputs are batch-major `[B, T, ...]`, or `[B, ...]` for a single step.
    `call(inputs, initial_state=None, reset_mask=None, training=False)`
    returns `(outputs, final_state)`.

    Args:
      cell: a Keras RNN cell (`LSTMCell`, `StackedRNNCells`, ...).
      parallel_iterations: forwarded to the time loop.
      swap_memory: forwarded to the time loop.
    """

    def __init__(
        self,
        cell: tf.keras.layers.Layer,
        parallel_iterations: int = 20,
        swap_memory: bool | None = None,
        **kwargs: Any,
    ):
        for attribute in ("state_size", "output_size"):
            if getattr(cell, attribute, None) is None:
                raise TypeError(
                    f"DynamicUnroll: cell lacks a `{attribute}` property: {cell}."
                )
        super().__init__(**kwargs)
        self.cell = cell
        self.parallel_iterations = parallel_iterations
        self.swap_memory = swap_memory

    @property
    def state_size(self) -> types.Nested[int]:
        return self.cell.state_size

    def get_config(self) -> dict:
        config = dict(super().get_config())
        config.update(
            parallel_iterations=self.parallel_iterations,
            swap_memory=self.swap_memory,
            cell=tf.keras.layers.serialize(self.cell),
        )
        return config

    @classmethod
    def from_config(
        cls, config: dict, custom_objects: dict[str, object] | None = None
    ) -> DynamicUnroll:
        config = dict(config)
        cell = tf.keras.layers.deserialize(
            config.pop("cell"), custom_objects=custom_objects
        )
        return cls(cell, **config)

    def compute_output_shape(self, input_shape: types.Shape) -> types.Shape:
        return self.cell.compute_output_shape(input_shape)

    def build(self, input_shape: types.Shape) -> None:
        if not self.cell.built:
            shape = tf.TensorShape(input_shape)
            step_shape = (
                shape
                if shape.rank is not None and shape.rank <= 2
                else (shape[:1].concatenate(shape[2:]))
            )
            self.cell.build(tuple(step_shape.as_list()))
        super().build(input_shape)

    def get_initial_state(
        self,
        inputs: types.NestedTensor | None = None,
        batch_size: types.Int | None = None,
        dtype: tf.DType | None = None,
    ) -> types.NestedTensor:
        """Zero state for `inputs`' batch, or for `batch_size` entries of `dtype`."""
        if inputs is not None:
            first = tf.nest.flatten(inputs)[0]
            batch_size = tf.shape(first)[0]
            dtype = dtype or first.dtype
        return keras_compat.lstm_initial_state(
            self.cell, batch_size, tf.as_dtype(dtype or self.dtype or tf.float32)
        )

    def call(
        self,
        inputs: types.NestedTensor,
        initial_state: types.NestedTensor | None = None,
        reset_mask: tf.Tensor | None = None,
        training: bool = False,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        inputs, has_time_axis = rnn_wrapper.add_time_axis_if_missing(inputs)
        flat = tf.nest.flatten(inputs)
        batch_sizes = {tf.compat.dimension_value(x.shape[0]) for x in flat} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                "DynamicUnroll: batch_size is not the same for all the elements in the input: "
                f"{sorted(batch_sizes)}."
            )
        batch_size = tf.shape(flat[0])[0]
        if common.safe_has_state(initial_state):
            dtype = tf.nest.flatten(initial_state)[0].dtype
        else:
            dtype = tf.as_dtype(self.dtype or flat[0].dtype)
        zero_state = keras_compat.lstm_initial_state(self.cell, batch_size, dtype)
        state = initial_state if common.safe_has_state(initial_state) else zero_state
        state = tf.nest.pack_sequence_as(zero_state, tf.nest.flatten(state))
        if reset_mask is None:
            reset_mask = tf.zeros(tf.shape(flat[0])[:2], tf.bool)
        elif not has_time_axis and reset_mask.shape.rank == 1:
            reset_mask = reset_mask[:, None]
        time_major = [
            tf.transpose(x, [1, 0] + list(range(2, x.shape.rank))) for x in flat
        ]
        reset_time_major = tf.transpose(reset_mask)

        def _step(carry: Any, elems: Any) -> Any:
            _, state = carry
            step_inputs, reset = elems
            state = tf.nest.map_structure(
                lambda s, z: tf.where(
                    tf.reshape(reset, [-1] + [1] * (s.shape.rank - 1)), z, s
                ),
                state,
                zero_state,
            )
            output, new_state = self.cell(
                tf.nest.pack_sequence_as(inputs, step_inputs), state, training=training
            )
            new_state = tf.nest.pack_sequence_as(zero_state, tf.nest.flatten(new_state))
            return output, new_state

        if not self.cell.built:
            self.cell.build(tuple(time_major[0].shape[1:].as_list()))
        if tf.compat.dimension_value(time_major[0].shape[0]) == 1:
            output, final_state = _step(
                (None, state), ([x[0] for x in time_major], reset_time_major[0])
            )
            outputs = tf.nest.map_structure(lambda t: tf.expand_dims(t, 0), output)
        else:
            output_zeros = tf.nest.map_structure(
                lambda size: tf.zeros(tf.stack([batch_size, size]), dtype),
                self.cell.output_size,
            )
            outputs, states = tf.scan(
                _step,
                (time_major, reset_time_major),
                initializer=(output_zeros, state),
                parallel_iterations=self.parallel_iterations,
                swap_memory=bool(self.swap_memory),
            )
            final_state = tf.nest.map_structure(lambda s: s[-1], states)
        outputs = tf.nest.map_structure(
            lambda t: tf.transpose(t, [1, 0] + list(range(2, t.shape.rank))), outputs
        )
        if not has_time_axis:
            outputs = tf.nest.map_structure(lambda t: tf.squeeze(t, axis=1), outputs)
        return outputs, final_state
