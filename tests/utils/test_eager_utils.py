"""Deferred calls and one-step training helpers."""

import numpy as np
import tensorflow as tf

from policylib.utils import eager_utils


def test_future_defers_and_overrides_arguments():
    def add(x, y=1):
        return x + y

    deferred = eager_utils.future_in_eager_mode(add)(2, y=3)
    assert isinstance(deferred, eager_utils.Future)
    assert deferred() == 5
    assert deferred(10) == 13  # new positional x, stored y
    assert deferred(y=0) == 2


def test_create_train_step_reduces_the_loss():
    variable = tf.Variable(3.0)
    loss = eager_utils.Future(lambda: tf.square(variable))
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.1)
    first = float(eager_utils.create_train_step(loss, optimizer, global_step=None))
    second = float(eager_utils.create_train_step(loss, optimizer, global_step=None))
    assert second < first and np.isclose(first, 9.0)


def test_clip_gradient_norms():
    grads = [(tf.constant([3.0, 4.0]), "v"), (None, "w")]
    clipped = eager_utils.clip_gradient_norms(grads, 1.0)
    np.testing.assert_allclose(clipped[0][0], [0.6, 0.8], rtol=1e-6)
    assert clipped[1] == (None, "w")


def test_a_tf1_optimizer_trains_a_keras_layers_variables():
    """Keras 3 layers hold Keras variables; TF1 optimizers update their tf.Variables."""
    layer = tf.keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)
    inputs = tf.ones((4, 2))
    layer(inputs)
    loss = eager_utils.Future(lambda: tf.reduce_mean(tf.square(layer(inputs))))
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.1)
    first = eager_utils.create_train_step(
        loss, optimizer, variables_to_train=lambda: layer.trainable_variables
    )
    second = loss()
    assert float(first) == 4.0
    assert float(second) < float(first)
