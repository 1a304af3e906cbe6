"""NestMap and NestFlatten: copies in a Sequential (SAC's twin critics), RNN leaves, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.networks import nest_map, sequential
from policylib.specs import tensor_spec


def _critic() -> sequential.Sequential:
    """Observation/action branches joined, as TF-Agents' SAC example builds a critic."""
    return sequential.Sequential(
        [
            tf.keras.layers.Lambda(lambda x: {"observation": x[0], "action": x[1]}),
            nest_map.NestMap(
                {
                    "observation": sequential.Sequential(
                        [tf.keras.layers.Dense(4, activation="relu")]
                    ),
                    "action": tf.keras.layers.Lambda(lambda x: x),
                }
            ),
            nest_map.NestFlatten(),
            tf.keras.layers.Concatenate(),
            tf.keras.layers.Dense(1),
        ]
    )


def test_sequential_with_nest_map_and_nest_flatten_copies() -> None:
    specs = (
        tensor_spec.TensorSpec([3], tf.float32),
        tensor_spec.TensorSpec([1], tf.float32),
    )
    original = _critic()
    original.create_variables(specs)
    copied = original.copy(name="critic_copy")
    copied.create_variables(specs)

    assert copied.name == "critic_copy"
    assert isinstance(copied.layers[1], nest_map.NestMap)
    assert isinstance(copied.layers[2], nest_map.NestFlatten)
    assert copied.layers[1] is not original.layers[1]
    assert copied.layers[2] is not original.layers[2]
    # Own variables, same structure.
    assert len(copied.variables) == len(original.variables) == 4
    assert not {id(v) for v in copied.variables} & {id(v) for v in original.variables}
    inputs = (tf.ones([2, 3]), tf.fill([2, 1], 0.5))
    output, _ = copied(inputs)
    assert output.shape == (2, 1)
    assert np.all(np.isfinite(output.numpy()))


def test_nest_flatten_flattens_in_nest_order() -> None:
    layer = nest_map.NestFlatten()
    out = layer({"b": tf.constant([2.0]), "a": tf.constant([1.0])})
    assert [t.numpy().tolist() for t in out] == [[1.0], [2.0]]
    assert isinstance(sequential.copy_layer(layer), nest_map.NestFlatten)


def test_a_bare_lstm_leaf_keeps_its_state_as_a_one_layer_sequential() -> None:
    net = nest_map.NestMap(
        {
            "a": tf.keras.layers.LSTM(3, return_state=True, return_sequences=True),
            "b": tf.keras.layers.Dense(2),
        }
    )
    spec = {"a": tf.TensorSpec((4,), tf.float32), "b": tf.TensorSpec((5,), tf.float32)}
    net.create_variables(spec)
    ((h_spec, c_spec),) = net.state_spec["a"]
    assert h_spec.shape == c_spec.shape == (3,)
    assert net.state_spec["b"] == ()
    inputs = {"a": tf.ones((2, 4)), "b": tf.ones((2, 5))}
    out, state = net(inputs, network_state=net.get_initial_state(2))
    assert out["a"].shape == (2, 3) and out["b"].shape == (2, 2)
    assert state["a"][0][0].shape == (2, 3)


def test_mismatched_structures_are_named() -> None:
    with pytest.raises(TypeError, match="`nested_layers` and `input_spec`"):
        nest_map.NestMap(
            [tf.keras.layers.Dense(2)], input_spec={"x": tf.TensorSpec((1,))}
        )
    net = nest_map.NestMap([tf.keras.layers.Dense(2)])
    with pytest.raises(TypeError, match="`self.nested_layers` and `inputs`"):
        net({"x": tf.ones((1, 1))})


def test_nest_flatten_takes_python_numbers() -> None:
    got = nest_map.NestFlatten()({"a": 1, "b": 2.0})
    assert [int(t.numpy()) for t in got] == [1, 2]
