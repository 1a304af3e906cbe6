"""`RNNWrapper`: a Keras RNN layer as a `(outputs, state)` layer for networks."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = ["RNNWrapper", "add_time_axis_if_missing"]


def add_time_axis_if_missing(
    inputs: types.NestedTensor, dtype: tf.DType | None = None
) -> tuple[types.NestedTensor, bool]:
    """`(inputs as tensors with a time axis 1, whether they had one)`.

    Rank-2 `[B, D]` inputs are one step; they get a time axis of length 1.
    """
    flat = [
        tf.convert_to_tensor(x, name="input", dtype_hint=dtype)
        for x in tf.nest.flatten(inputs)
    ]
    has_time_axis = all(x.shape.rank is None or x.shape.rank > 2 for x in flat)
    if not has_time_axis:
        flat = [tf.expand_dims(x, axis=1) for x in flat]
    return tf.nest.pack_sequence_as(inputs, flat), has_time_axis


@tf.keras.utils.register_keras_serializable(package="policylib")
class RNNWrapper(tf.keras.layers.Layer):
    """Runs a Keras RNN layer (`LSTM`, `GRU`, `RNN(cell)`) and returns `(outputs, state)`.

    Inputs are `[B, T, ...]`, or `[B, ...]` for a single step (the time axis is
    added and removed). The wrapped layer must be built with
    `return_state=True` and `return_sequences=True`.

    Args:
      layer: the Keras RNN layer.
      **kwargs: Keras `Layer` arguments.

    Raises:
      TypeError: `layer` is not a Keras RNN layer.
      NotImplementedError: `return_state` or `return_sequences` is False.
    """

    def __init__(self, layer: tf.keras.layers.Layer, **kwargs: Any):
        if not isinstance(layer, tf.keras.layers.RNN):
            raise TypeError(
                "RNNWrapper needs a tf.keras.layers.RNN layer (LSTM, GRU, RNN(cell)), "
                f"got {type(layer).__name__}: {layer}."
            )
        config = layer.get_config()
        for option in ("return_state", "return_sequences"):
            if not config.get(option, False):
                raise NotImplementedError(
                    f"RNNWrapper cannot wrap a Keras RNN layer with {option}==False "
                    f"(expected {option}=True): {layer}."
                )
        super().__init__(**kwargs)
        self._layer = layer

    @property
    def variables(self) -> list[Any]:
        """The wrapped layer's variables, less Keras 3's seeds of unused dropout.

        Keras 3 also lists the state of each RNN cell's dropout seed generator,
        even with no dropout; without it the variables are what Keras 2 (and
        TF-Agents) report: an LSTM's kernel, recurrent kernel and bias.
        `trainable_variables` and `non_trainable_variables` follow this list.
        """
        idle = {id(v) for v in keras_compat.idle_dropout_seed_states(self._layer)}
        return [v for v in super().variables if id(v) not in idle]

    @property
    def cell(self) -> tf.keras.layers.Layer:
        return self._layer.cell

    @property
    def state_size(self) -> types.Nested[int]:
        return self._layer.cell.state_size

    @property
    def wrapped_layer(self) -> tf.keras.layers.Layer:
        return self._layer

    def get_config(self) -> dict:
        config = dict(super().get_config())
        config["layer"] = tf.keras.layers.serialize(self._layer)
        return config

    @classmethod
    def from_config(
        cls, config: dict, custom_objects: dict[str, object] | None = None
    ) -> RNNWrapper:
        config = dict(config)
        layer = tf.keras.layers.deserialize(
            config.pop("layer"), custom_objects=custom_objects
        )
        return cls(layer, **config)

    def compute_output_shape(self, input_shape: types.Shape) -> types.Shape:
        return self._layer.compute_output_shape(input_shape)

    def build(self, input_shape: types.Shape) -> None:
        input_shape = tuple(tf.TensorShape(input_shape).as_list())
        if len(input_shape) <= 2:
            input_shape = (input_shape[0], None) + input_shape[1:]
        self._layer.build(input_shape)
        super().build(input_shape)

    def get_initial_state(
        self, inputs: types.NestedTensor | None = None
    ) -> types.NestedTensor:
        """Zero state for a batch like `inputs` (`[B, ...]` or `[B, T, ...]`)."""
        inputs, _ = add_time_axis_if_missing(inputs, self.dtype)
        return keras_compat.rnn_layer_initial_state(self._layer, inputs)

    def call(
        self,
        inputs: types.NestedTensor,
        initial_state: types.NestedTensor | None = None,
        mask: tf.Tensor | None = None,
        training: bool = False,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        """Returns `(outputs, final_state)`; outputs keep the inputs' time axis (or lack of it)."""
        inputs, has_time_axis = add_time_axis_if_missing(inputs, self.dtype)
        if not common.safe_has_state(initial_state):
            initial_state = keras_compat.rnn_layer_initial_state(self._layer, inputs)
        outputs = self._layer(
            inputs, initial_state=initial_state, mask=mask, training=training
        )
        output, new_state = outputs[0], outputs[1:]
        new_state = tf.nest.pack_sequence_as(
            self.state_size, tf.nest.flatten(new_state)
        )
        if not has_time_axis:
            output = tf.nest.map_structure(lambda t: tf.squeeze(t, axis=1), output)
        return output, new_state
