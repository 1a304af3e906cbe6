import os

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
