"""The Keras layers policylib's networks use, under Keras 3 and tf-keras."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.keras_layers import (
    bias_layer,
    dynamic_unroll_layer,
    inner_reshape,
    permanent_variable_rate_dropout,
    rnn_wrapper,
)


def test_bias_layer_adds_a_trainable_bias_over_the_last_dim() -> None:
    layer = bias_layer.BiasLayer(bias_initializer=tf.keras.initializers.Constant(2.0))
    out = layer(tf.ones((3, 4)))
    np.testing.assert_allclose(out.numpy(), np.full((3, 4), 3.0))
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(4,)]
    config = layer.get_config()
    assert type(layer).from_config(config)(tf.zeros((1, 4))).shape == (1, 4)


@pytest.mark.parametrize("outer", [(2,), (2, 5)], ids=["batch", "batch-time"])
def test_inner_reshape_keeps_any_outer_dims(outer) -> None:
    layer = inner_reshape.InnerReshape([6], [2, -1])
    x = tf.reshape(tf.range(np.prod(outer) * 6, dtype=tf.float32), (*outer, 6))
    y = layer(x)
    assert y.shape == (*outer, 2, 3)
    np.testing.assert_array_equal(
        tf.reshape(y, [-1]).numpy(), tf.reshape(x, [-1]).numpy()
    )
    with pytest.raises(ValueError, match=r"Shapes \(5,\) and \(6,\) are incompatible"):
        layer(tf.zeros((2, 5)))


def test_inner_reshape_reshapes_nests_and_checks_its_shapes() -> None:
    layer = inner_reshape.InnerReshape([None, None], [-1])
    out = layer({"a": tf.zeros((2, 3, 4)), "b": tf.zeros((2, 5, 1, 2))})
    assert out["a"].shape == (2, 12) and out["b"].shape == (2, 5, 2)
    with pytest.raises(ValueError, match="must have known rank"):
        inner_reshape.InnerReshape(tf.TensorShape(None), [1])
    with pytest.raises(ValueError, match=r"Mismatched number of elements.*6.*4"):
        inner_reshape.InnerReshape([2, 3], [4])
    with pytest.raises(ValueError, match=r"at most one -1, got \[-1, -1\]"):
        inner_reshape.InnerReshape([4], [-1, -1])
    with pytest.raises(ValueError, match="are incompatible"):
        inner_reshape.InnerReshape([2, 2], [4])(tf.zeros((3,)))


def test_dropout_with_a_scheduled_rate_and_permanent_mode() -> None:
    rate = tf.Variable(0.0)
    layer = permanent_variable_rate_dropout.PermanentVariableRateDropout(
        rate=lambda: rate, permanent=False, seed=1
    )
    x = tf.ones((1000,))
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    rate.assign(0.5)
    dropped = layer(x, training=True).numpy()
    assert 0.4 < np.mean(dropped == 0) < 0.6  # the rate is read at call time
    always = permanent_variable_rate_dropout.PermanentVariableRateDropout(
        rate=0.5, permanent=True, seed=1
    )
    assert np.any(always(x, training=False).numpy() == 0)
    with pytest.raises(ValueError, match="cannot be serialized"):
        layer.get_config()


def test_rnn_wrapper_keeps_or_drops_the_time_axis_and_carries_state() -> None:
    tf.keras.utils.set_random_seed(0)
    layer = rnn_wrapper.RNNWrapper(
        tf.keras.layers.LSTM(3, return_state=True, return_sequences=True)
    )
    x = tf.random.normal((2, 4, 5))
    outputs, state = layer(x)
    assert outputs.shape == (2, 4, 3)
    assert [tuple(s.shape) for s in tf.nest.flatten(state)] == [(2, 3), (2, 3)]
    # Step by step from the zero state gives the same final state and outputs.
    stepped = layer.get_initial_state(x)
    for t in range(4):
        output, stepped = layer(x[:, t], initial_state=stepped)
        assert output.shape == (2, 3)
        np.testing.assert_allclose(output.numpy(), outputs[:, t].numpy(), atol=1e-5)
    for a, b in zip(tf.nest.flatten(state), tf.nest.flatten(stepped)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_dynamic_unroll_resets_the_state_where_episodes_start() -> None:
    tf.keras.utils.set_random_seed(0)
    unroll = dynamic_unroll_layer.DynamicUnroll(tf.keras.layers.LSTMCell(3))
    x = tf.random.normal((2, 6, 4))
    reset = np.zeros((2, 6), bool)
    reset[0, 3] = True  # batch entry 0 starts a new episode at t=3
    outputs, _ = unroll(x, reset_mask=tf.constant(reset))
    assert outputs.shape == (2, 6, 3)
    # From t=3 on, entry 0 equals an unroll that started at t=3.
    fresh, _ = unroll(x[:, 3:])
    np.testing.assert_allclose(outputs[0, 3:].numpy(), fresh[0].numpy(), atol=1e-5)
    assert not np.allclose(outputs[1, 3:].numpy(), fresh[1].numpy(), atol=1e-5)
    # A single step without a time axis.
    single, state = unroll(x[:, 0], initial_state=unroll.get_initial_state(x[:, 0]))
    np.testing.assert_allclose(single.numpy(), outputs[:, 0].numpy(), atol=1e-5)
    assert [tuple(s.shape) for s in tf.nest.flatten(state)] == [(2, 3), (2, 3)]


def test_rnn_wrapper_refuses_layers_without_states_or_sequences() -> None:
    with pytest.raises(NotImplementedError, match="return_state==False"):
        rnn_wrapper.RNNWrapper(tf.keras.layers.LSTM(3, return_sequences=True))
    with pytest.raises(NotImplementedError, match="return_sequences==False"):
        rnn_wrapper.RNNWrapper(tf.keras.layers.LSTM(3, return_state=True))
    with pytest.raises(TypeError, match="got Dense"):
        rnn_wrapper.RNNWrapper(tf.keras.layers.Dense(3))


def test_rnn_wrapper_variables_are_the_lstm_weights() -> None:
    wrapper = rnn_wrapper.RNNWrapper(
        tf.keras.layers.LSTM(3, return_state=True, return_sequences=True)
    )
    wrapper.build((1, 4))  # no time axis
    shapes = [tuple(v.shape) for v in wrapper.variables]
    assert shapes == [(4, 12), (3, 12), (12,)]
    assert len(wrapper.trainable_variables) == 3
    wrapper.trainable = False
    assert not wrapper.trainable_variables and len(wrapper.variables) == 3


def test_dynamic_unroll_passes_the_dtype_to_cells_that_take_one() -> None:
    class RunningSum(tf.keras.layers.Layer):
        """Adds each input to the state; its zero state needs a dtype."""

        state_size = 1
        output_size = 1

        def call(self, inputs, state):
            total = inputs + state
            return total, total

        def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
            return tf.zeros([batch_size, 1], dtype)

    unroll = dynamic_unroll_layer.DynamicUnroll(RunningSum(), dtype=tf.float32)
    x = tf.ones((2, 4, 1))
    reset = tf.constant([[False, False, True, False], [False] * 4])
    outputs, final = unroll(x, reset_mask=reset)
    np.testing.assert_array_equal(outputs[..., 0].numpy(), [[1, 2, 1, 2], [1, 2, 3, 4]])
    np.testing.assert_array_equal(final.numpy(), [[2], [4]])
