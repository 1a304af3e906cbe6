import os
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf

from policylib.utils import keras_compat


def test_mode_matches_environment():
    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "0") in ("1", "true", "True")
    assert keras_compat.is_keras3() is (not legacy)


def test_keras_variables_map_to_tracked_tf_variables(tmp_path):
    layer = tf.keras.layers.Dense(keras_compat.units(3))
    layer.build((None, 2))
    variables = keras_compat.tf_variables(layer.weights)
    assert len(variables) == 2 and all(isinstance(v, tf.Variable) for v in variables)
    assert keras_compat.tf_variables(layer.weights)[0] is variables[0]
    module = tf.Module()
    module.tracked = variables
    assert len(module.variables) == 2
    path = tf.train.Checkpoint(module=module).write(str(tmp_path / "ckpt"))
    before = layer.kernel.numpy().copy()
    variables[0].assign(tf.zeros_like(variables[0]))
    tf.train.Checkpoint(module=module).read(path).assert_consumed()
    assert (layer.kernel.numpy() == before).all()


def test_lstm_initial_state_and_names():
    cell = tf.keras.layers.LSTMCell(4)
    state = keras_compat.lstm_initial_state(cell, 2, tf.float32)
    assert [s.shape for s in state] == [(2, 4), (2, 4)]
    assert keras_compat.safe_layer_name("input_mlp/dense0") == "input_mlp_dense0"


def test_lstm_initial_state_passes_the_dtype_to_cells_that_take_it():
    class NeedsDtype(tf.keras.layers.Layer):
        state_size = 2

        def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
            return tf.zeros([batch_size, 2], dtype)  # fails with dtype=None

    state = keras_compat.lstm_initial_state(NeedsDtype(), 3, tf.float64)
    assert state.shape == (3, 2) and state.dtype == tf.float64
    keras_cell = tf.keras.layers.GRUCell(2)
    state = keras_compat.lstm_initial_state(keras_cell, 3, tf.float64)
    assert [s.dtype for s in tf.nest.flatten(state)] == [tf.float64]


def test_idle_dropout_seed_states_are_those_of_cells_without_dropout():
    plain = tf.keras.layers.LSTM(3)
    dropping = tf.keras.layers.GRU(3, recurrent_dropout=0.2)
    stacked = tf.keras.layers.RNN(
        tf.keras.layers.StackedRNNCells(
            [tf.keras.layers.LSTMCell(2), tf.keras.layers.LSTMCell(2, dropout=0.5)]
        )
    )
    if not keras_compat.is_keras3():
        assert keras_compat.idle_dropout_seed_states(plain) == []
        return
    assert keras_compat.idle_dropout_seed_states(plain) == [
        plain.cell.seed_generator.state
    ]
    assert keras_compat.idle_dropout_seed_states(dropping) == []
    idle = keras_compat.idle_dropout_seed_states(stacked)
    assert idle == [stacked.cell.cells[0].seed_generator.state]


# Run apart: the route changes `tf.compat.v1.nn.rnn_cell` for the whole process.
_ROUTE = """
    import numpy as np
    import tensorflow as tf
    from policylib.keras_layers import dynamic_unroll_layer
    from policylib.utils import keras_compat

    assert keras_compat.route_tf1_rnn_cells_to_tf_keras()
    assert keras_compat.route_tf1_rnn_cells_to_tf_keras()  # idempotent
    cell = tf.compat.v1.nn.rnn_cell.LSTMCell(3)
    inputs = tf.random.stateless_uniform((4, 5, 2), seed=(1, 2))
    expected, expected_state = tf.compat.v1.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
    outputs, state = dynamic_unroll_layer.DynamicUnroll(cell, dtype=tf.float32)(inputs)
    np.testing.assert_allclose(outputs.numpy(), expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(state.h.numpy(), expected_state.h.numpy(), atol=1e-6)
    print("routed", type(cell).__module__)
"""


def test_tf1_rnn_cells_route_to_tf_keras():
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_ROUTE)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "routed tf_keras." in result.stdout


def test_tf_agents_random_generator_switch_is_there_after_networks_load():
    """`tf.keras.backend.experimental.enable_tf_random_generator()` (TF-Agents' CQL)."""
    from policylib.networks import network  # noqa: F401 - installs "networks"

    experimental = tf.keras.backend.experimental
    experimental.enable_tf_random_generator()
    assert experimental.is_tf_random_generator_enabled() in (True, False)
    if keras_compat.is_keras3():
        assert experimental.is_tf_random_generator_enabled() is True


def test_layers_with_tf_v1_initializers_copy_under_both_kerases():
    # TF-Agents' DQN example builds its Dense layers with
    # `tf.compat.v1.variance_scaling_initializer`; the agent copies the
    # network for its target, which Keras 3 did through the initializer's
    # config (its VarianceScaling refuses the v1 `dtype` entry).
    from policylib.networks import sequential

    dense = tf.keras.layers.Dense(
        5,
        kernel_initializer=tf.compat.v1.variance_scaling_initializer(
            scale=2.0, mode="fan_in", distribution="truncated_normal"
        ),
        bias_initializer=tf.constant_initializer(-0.2),
    )
    net = sequential.Sequential([dense, tf.keras.layers.Dense(2)])
    net.create_variables(tf.TensorSpec((3,), tf.float32))
    copied = net.copy(name="Target")
    copied.create_variables(tf.TensorSpec((3,), tf.float32))
    first = copied.layers[0]
    assert first is not dense
    assert isinstance(first.kernel_initializer, type(dense.kernel_initializer))
    assert first.kernel_initializer is not dense.kernel_initializer
    assert first.kernel_initializer.scale == 2.0
    assert first.kernel_initializer.distribution == "truncated_normal"
    assert np.allclose(first.bias.numpy(), -0.2)
    out = copied(tf.ones((4, 3)))[0]
    assert out.shape == (4, 2)
