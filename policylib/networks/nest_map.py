"""`NestMap` (a nest of layers applied to a nest of inputs) and `NestFlatten`."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.base import nest_utils
from policylib.networks import network, sequential
from policylib.utils import keras_compat

__all__ = ["NestFlatten", "NestMap"]


class NestFlatten(tf.keras.layers.Layer):
    """Flattens a nest into a list (e.g. as a combiner before `Concatenate`)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        # Its input may hold Python numbers, which Keras 3 refuses positionally.
        keras_compat.accept_policy_call_arguments(self)

    def call(self, inputs: Any) -> list:
        # Python and NumPy leaves become tensors, as tf-keras converts layer inputs.
        return [
            leaf if tf.is_tensor(leaf) else tf.convert_to_tensor(leaf)
            for leaf in tf.nest.flatten(inputs)
        ]


class NestMap(network.Network):
    """Applies `nested_layers[k]` to `inputs[k]` for every leaf `k`.

    The state spec is the nest of the layers' state specs (leaves without
    state hold `()`).

    Args:
      nested_layers: a nest of Keras layers or Networks.
      input_spec: optional nest of input specs (a shallow match of
        `nested_layers` ... or deeper).
      name: network name.
    """

    def __init__(
        self, nested_layers: Any, input_spec: Any = None, name: str | None = None
    ):
        flat_layers = tf.nest.flatten(nested_layers)
        for layer in flat_layers:
            if not isinstance(layer, tf.keras.layers.Layer):
                raise TypeError(f"NestMap expects Keras layers, saw: {layer!r}")
        if input_spec is not None:
            _check_structure(
                nested_layers,
                input_spec,
                "`nested_layers` and `input_spec` do not have matching structures",
            )
            flat_specs = nest_utils.flatten_up_to(nested_layers, input_spec)
        else:
            flat_specs = [None] * len(flat_layers)
        # A bare Keras RNN layer runs inside a one-layer Sequential (which wraps
        # it in RNNWrapper), so its state is that Sequential's: `(rnn_state,)`,
        # as in TF-Agents.
        flat_layers = [
            sequential.Sequential([layer], spec)
            if isinstance(layer, tf.keras.layers.RNN)
            else layer
            for layer, spec in zip(flat_layers, flat_specs)
        ]
        nested_layers = tf.nest.pack_sequence_as(nested_layers, flat_layers)
        flat_states = [network.get_state_spec(layer) for layer in flat_layers]
        state_spec = tf.nest.pack_sequence_as(
            nested_layers, [sequential.as_tuples(s) for s in flat_states]
        )
        if not any(tf.nest.flatten(s) for s in flat_states):
            state_spec = ()
        super().__init__(input_tensor_spec=input_spec, state_spec=state_spec, name=name)
        self._nested_layers = nested_layers
        self._flat_layers = flat_layers
        self._flat_state_specs = flat_states

    @property
    def nested_layers(self) -> Any:
        return self._nested_layers

    @property
    def layers(self) -> list:
        return list(self._flat_layers)

    def copy(self, **kwargs: Any) -> NestMap:
        if "nested_layers" not in kwargs:
            kwargs["nested_layers"] = tf.nest.map_structure(
                sequential.copy_layer, self._nested_layers
            )
        return super().copy(**kwargs)

    def call(
        self, inputs: Any, network_state: Any = (), **kwargs: Any
    ) -> tuple[Any, Any]:
        _check_structure(
            keras_compat.untracked(self._nested_layers),
            inputs,
            "`self.nested_layers` and `inputs` do not have matching structures",
        )
        flat_inputs = nest_utils.flatten_up_to(self._nested_layers, inputs)
        if self.state_spec == () or not nest_utils.has_tensors(network_state):
            flat_states: list = [()] * len(self._flat_layers)
        else:
            flat_states = nest_utils.flatten_up_to(self._nested_layers, network_state)
        outputs, new_states = [], []
        for layer, layer_input, state, state_spec in zip(
            self._flat_layers, flat_inputs, flat_states, self._flat_state_specs
        ):
            output, new_state = sequential.call_layer(
                layer, layer_input, state, state_spec, kwargs
            )
            outputs.append(output)
            new_states.append(new_state)
        structure = keras_compat.untracked(self._nested_layers)
        output_nest = tf.nest.pack_sequence_as(structure, outputs)
        if self.state_spec == ():
            return output_nest, ()
        return output_nest, tf.nest.pack_sequence_as(structure, new_states)


def _check_structure(layers: Any, values: Any, message: str) -> None:
    """Raises TypeError(`message` + where they part) unless `values` fits `layers`."""
    try:
        nest_utils.assert_shallow_structure(layers, values)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{message}: {e}") from None
