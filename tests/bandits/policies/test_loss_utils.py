"""pinball_loss: the quantile-regression loss and its reductions."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import loss_utils


def test_per_element_losses_are_asymmetric():
    y_true = tf.constant([1.0, 2.0, 3.0, 4.0])
    y_pred = tf.constant([2.0, 2.0, 1.0, 4.5])
    losses = loss_utils.pinball_loss(
        y_true, y_pred, quantile=0.25, reduction=tf.compat.v1.losses.Reduction.NONE
    )
    # Over-predictions cost 0.75 per unit, under-predictions 0.25.
    np.testing.assert_allclose(losses, [0.75, 0.0, 0.5, 0.375])


def test_the_minimiser_is_the_quantile():
    targets = tf.constant(np.arange(1.0, 11.0), tf.float32)
    candidates = np.arange(1.0, 11.0)

    def loss(c, q):
        return float(loss_utils.pinball_loss(targets, tf.fill([10], c), quantile=q))

    assert candidates[np.argmin([loss(c, 0.5) for c in candidates])] in (5.0, 6.0)
    assert candidates[np.argmin([loss(c, 0.9) for c in candidates])] in (9.0, 10.0)
    assert candidates[np.argmin([loss(c, 0.1) for c in candidates])] in (1.0, 2.0)


def test_weights_and_default_reduction():
    y_true = tf.constant([[1.0], [3.0]])
    y_pred = tf.constant([[0.0], [5.0]])
    # Losses 0.5 and 1.0; the mean over non-zero weights.
    assert float(loss_utils.pinball_loss(y_true, y_pred)) == pytest.approx(0.75)
    weighted = loss_utils.pinball_loss(
        y_true, y_pred, weights=tf.constant([[2.0], [0.0]])
    )
    assert float(weighted) == pytest.approx(1.0)
    summed = loss_utils.pinball_loss(
        y_true, y_pred, reduction=tf.compat.v1.losses.Reduction.SUM
    )
    assert float(summed) == pytest.approx(1.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="y_true must not be None"):
        loss_utils.pinball_loss(None, tf.zeros([2]))
    with pytest.raises(ValueError, match="y_pred must not be None"):
        loss_utils.pinball_loss(tf.zeros([2]), None)
    with pytest.raises(ValueError, match=r"compatible shapes; got \(3,\) and \(2,\)"):
        loss_utils.pinball_loss(tf.zeros([2]), tf.zeros([3]))
    with pytest.raises(ValueError, match=r"quantile must be in \[0, 1\]; got -0.1"):
        loss_utils.pinball_loss(tf.zeros([2]), tf.zeros([2]), quantile=-0.1)
