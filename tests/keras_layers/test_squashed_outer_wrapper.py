"""SquashedOuterWrapper: one-batch-dim layers on inputs with several outer dims."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.keras_layers import squashed_outer_wrapper

SquashedOuterWrapper = squashed_outer_wrapper.SquashedOuterWrapper


@pytest.mark.parametrize("outer", [(6,), (2, 3), (1, 2, 3)], ids=["B", "BT", "B1B2T"])
def test_outputs_keep_the_outer_dims_and_match_a_folded_batch(outer) -> None:
    conv = tf.keras.layers.Conv2D(4, 3, kernel_initializer="ones")
    layer = SquashedOuterWrapper(conv, inner_rank=3)
    x = tf.reshape(tf.range(6 * 5 * 5 * 2, dtype=tf.float32), (*outer, 5, 5, 2))
    y = layer(x)
    assert y.shape == (*outer, 3, 3, 4)
    folded = conv(tf.reshape(x, (6, 5, 5, 2)))
    np.testing.assert_allclose(tf.reshape(y, (6, 3, 3, 4)).numpy(), folded.numpy())
    assert layer.compute_output_shape((None, *outer[1:], 5, 5, 2)) == tf.TensorShape(
        (None, *outer[1:], 3, 3, 4)
    )


def test_batch_norm_sees_one_batch_and_its_weights_are_the_wrappers() -> None:
    layer = SquashedOuterWrapper(tf.keras.layers.BatchNormalization(), inner_rank=1)
    x = tf.reshape(tf.range(24, dtype=tf.float32), (2, 3, 4))
    y = layer(x, training=True)
    # Normalized over all 6 folded rows: each feature has mean 0 across them.
    np.testing.assert_allclose(
        tf.reduce_mean(tf.reshape(y, (6, 4)), axis=0).numpy(), np.zeros(4), atol=1e-5
    )
    assert len(layer.trainable_weights) == 2  # gamma, beta
    assert len(layer.non_trainable_weights) == 2  # moving mean and variance
    layer.trainable = False
    assert not layer.trainable_weights and len(layer.weights) == 4


def test_config_round_trip() -> None:
    layer = SquashedOuterWrapper(
        tf.keras.layers.BatchNormalization(axis=-1), inner_rank=3, name="squash"
    )
    clone = SquashedOuterWrapper.from_config(layer.get_config())
    assert clone.inner_rank == 3 and clone.name == "squash"
    assert isinstance(clone.wrapped, tf.keras.layers.BatchNormalization)
    assert clone.get_config() == layer.get_config()
    # A built layer's config makes a layer that runs alike.
    x = tf.random.normal((2, 2, 3, 3, 3), seed=1)
    rebuilt = SquashedOuterWrapper.from_config(layer.get_config())
    np.testing.assert_allclose(rebuilt(x).numpy(), layer(x).numpy(), atol=1e-6)
    assert rebuilt.wrapped.built


def test_inputs_of_unknown_or_too_small_rank_are_refused() -> None:
    layer = SquashedOuterWrapper(tf.keras.layers.BatchNormalization(), inner_rank=3)
    traced = tf.function(layer)
    with pytest.raises(ValueError, match="must have known rank"):
        traced.get_concrete_function(tf.TensorSpec(shape=None, dtype=tf.float32))
    with pytest.raises(ValueError, match=r"rank > inner_rank=3.*\(5, 6, 7\)"):
        layer(tf.zeros((5, 6, 7)))


def test_bad_constructor_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="get_initial_state"):
        SquashedOuterWrapper(tf.keras.layers.LSTMCell(3), inner_rank=1)
    with pytest.raises(ValueError, match="inner_rank >= 1, got 0"):
        SquashedOuterWrapper(tf.keras.layers.Dense(3), inner_rank=0)
    with pytest.raises(ValueError, match="int inner_rank, got 1.5"):
        SquashedOuterWrapper(tf.keras.layers.Dense(3), inner_rank=1.5)  # type: ignore[arg-type]
