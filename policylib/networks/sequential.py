"""`Sequential`: a chain of Keras layers and Networks as one (possibly stateful) Network.

Use it instead of `keras.Sequential`: it works inside `tf.function` and
SavedModels without declared input shapes, and it threads recurrent state:

    net = Sequential([Dense(16), LSTM(8, return_state=True, return_sequences=True), Dense(3)])
    outputs, state = net(inputs, network_state=state)

The state spec is a tuple with one entry per stateful layer (Keras RNN
layers are wrapped in `keras_layers.RNNWrapper`); lists in layer states
become tuples so specs work with `tf.nest` and replay buffers alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from policylib.keras_layers import rnn_wrapper
from policylib.networks import network
from policylib.utils import common, keras_compat

__all__ = ["Sequential", "as_tuples", "call_layer", "copy_layer"]


def as_tuples(spec: Any) -> Any:
    """`spec` with its top-level list (e.g. an LSTM's `[h, c]`) as a tuple."""
    return tuple(spec) if isinstance(spec, list) else spec


def copy_layer(layer: Any) -> Any:
    """An independent copy of a layer (same initial weights if built)."""
    if isinstance(layer, network.Network):
        return layer.copy()
    return keras_compat.deepcopy_layer(layer)


def call_layer(
    layer: Any, inputs: Any, state: Any, state_spec: Any, kwargs: dict
) -> tuple[Any, Any]:
    """Calls a Network or Keras layer with its slice of the state; returns `(out, state)`.

    Args:
      state_spec: the layer's state spec (`network.get_state_spec`, computed
        once by the caller); a list spec (e.g. an LSTM's `[h, c]`) gets its
        state as a list and returns it as a tuple.
    """
    if not tf.nest.flatten(state_spec):
        if isinstance(layer, network.Network):
            return layer(inputs, **kwargs)[0], ()
        return keras_compat.call_folding_outer_dims(
            layer, inputs, **_without_step_type(kwargs)
        ), ()
    if isinstance(state_spec, list) and common.safe_has_state(state):
        state = list(state)
    if isinstance(layer, network.Network):
        outputs, new_state = layer(inputs, network_state=state, **kwargs)
        return outputs, as_tuples(new_state)
    if not common.safe_has_state(state):
        state = network.layer_initial_state(layer, inputs)
    outputs, new_state = layer(inputs, state, **_without_step_type(kwargs))
    return outputs, as_tuples(
        tf.nest.pack_sequence_as(state_spec, tf.nest.flatten(new_state))
    )


def _without_step_type(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k != "step_type"}


class Sequential(network.Network):
    """Composes `layers` in order.

    Args:
      layers: Keras layers and Networks; Keras RNN layers are wrapped in
        `RNNWrapper`.
      input_spec: optional nest of input specs of the first layer.
      name: network name.

    Raises:
      ValueError: `layers` is empty.
      TypeError: an element is not a Keras layer.
    """

    def __init__(
        self,
        layers: Sequence[Any],
        input_spec: Any = None,
        name: str | None = None,
    ):
        if not layers:
            raise ValueError(f"`layers` must not be empty; saw: {layers}")
        for layer in layers:
            if not isinstance(layer, tf.keras.layers.Layer):
                raise TypeError(
                    f"Expected all layers to be instances of keras Layer, but saw: '{layer}'"
                )
        layers = [
            rnn_wrapper.RNNWrapper(layer)
            if isinstance(layer, tf.keras.layers.RNN)
            else layer
            for layer in layers
        ]
        layer_state_specs = [network.get_state_spec(layer) for layer in layers]
        state_spec = tuple(
            as_tuples(spec) for spec in layer_state_specs if tf.nest.flatten(spec)
        )
        super().__init__(input_tensor_spec=input_spec, state_spec=state_spec, name=name)
        self._sequential_layers = layers
        self._layer_state_specs = layer_state_specs

    @property
    def layers(self) -> list:
        return list(self._sequential_layers)

    def copy(self, **kwargs: Any) -> Sequential:
        """A copy with copied layers (same starting weights, not shared).

        Raises:
          RuntimeError: not executing eagerly (layers cannot be deep-copied).
        """
        if not tf.executing_eagerly():
            raise RuntimeError(
                "Not executing eagerly - cannot make deep copies of `layers`."
            )
        if "layers" not in kwargs:
            kwargs["layers"] = [copy_layer(layer) for layer in self._sequential_layers]
        return super().copy(**kwargs)

    def call(
        self, inputs: Any, network_state: Any = (), **kwargs: Any
    ) -> tuple[Any, Any]:
        if not tf.is_tensor(network_state) and not network_state:
            layer_state_specs: Any = self.state_spec  # one entry per layer
            network_state = ((),) * len(layer_state_specs)
        states = iter(network_state)
        next_state: list = []
        for layer, spec in zip(self._sequential_layers, self._layer_state_specs):
            stateful = bool(tf.nest.flatten(spec))
            inputs, new_state = call_layer(
                layer, inputs, next(states) if stateful else (), spec, kwargs
            )
            if stateful:
                next_state.append(new_state)
        return inputs, tuple(next_state)

    def compute_output_shape(self, input_shape: Any) -> tf.TensorShape:
        shape = tf.TensorShape(input_shape)
        for layer in self._sequential_layers:
            shape = layer.compute_output_shape(shape)
        return tf.TensorShape(shape)

    @property
    def trainable(self) -> bool:
        return any(layer.trainable for layer in self._sequential_layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in getattr(self, "_sequential_layers", ()):
            layer.trainable = value

    def get_config(self) -> dict:
        return {
            i: tf.keras.layers.serialize(layer)
            for i, layer in enumerate(self._sequential_layers)
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> Sequential:
        layers = [
            tf.keras.layers.deserialize(conf, custom_objects=custom_objects)
            for conf in config.values()
        ]
        return cls(layers)
