"""bandits.policies.linalg: conjugate gradients and Woodbury inverse updates."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import linalg


def _spd(n, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    return (m @ m.T + n * np.eye(n)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conjugate_gradient_solves_several_right_hand_sides(dtype):
    a = _spd(6, 0, dtype)
    b = np.random.default_rng(1).normal(size=(6, 3)).astype(dtype)
    x = linalg.conjugate_gradient(tf.constant(a), tf.constant(b))
    assert x.dtype == tf.as_dtype(dtype)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-4, atol=1e-4)


def test_batch_conjugate_gradient_matches_one_solve_per_system():
    a = np.stack([_spd(5, seed) for seed in range(3)])
    b = np.random.default_rng(4).normal(size=(3, 5, 2))
    b[1, :, 0] = 0.0  # A column solved from the start stays at zero.
    x = linalg.batch_conjugate_gradient(a, b).numpy()
    assert x.shape == (3, 5, 2)
    for i in range(3):
        np.testing.assert_array_equal(x[i], linalg.conjugate_gradient(a[i], b[i]))
        np.testing.assert_allclose(x[i], np.linalg.solve(a[i], b[i]), rtol=1e-8)


def test_batch_conjugate_gradient_names_bad_shapes():
    with pytest.raises(ValueError, match=r"must have rank 3; got shapes \(5, 5\)"):
        linalg.batch_conjugate_gradient(_spd(5, 0), np.ones((5, 2)))
    with pytest.raises(
        ValueError, match=r"do not match; got shapes \(2, 5, 5\) and \(3, 5, 1\)"
    ):
        linalg.batch_conjugate_gradient(np.ones((2, 5, 5)), np.ones((3, 5, 1)))


def test_conjugate_gradient_keeps_a_zero_column_at_zero():
    a = _spd(4, 2)
    b = np.zeros((4, 2))
    b[:, 1] = [1.0, -2.0, 0.5, 3.0]
    x = linalg.conjugate_gradient(a, b).numpy()
    np.testing.assert_array_equal(x[:, 0], np.zeros(4))
    np.testing.assert_allclose(x[:, 1], np.linalg.solve(a, b[:, 1]), rtol=1e-8)


def test_conjugate_gradient_with_unknown_static_shapes():
    a = _spd(5, 3)
    b = np.arange(10.0).reshape(5, 2)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.float64),
            tf.TensorSpec([None, None], tf.float64),
        ]
    )
    def solve(a_mat, b_mat):
        return linalg.conjugate_gradient(a_mat, b_mat)

    np.testing.assert_allclose(solve(a, b), np.linalg.solve(a, b), rtol=1e-8)


@pytest.mark.parametrize(
    "a_shape, b_shape, message",
    [
        ((3, 4), (3, 1), "square"),
        ((3, 3), (4, 1), "do not match"),
        ((3, 3), (3,), "b_mat"),
    ],
)
def test_conjugate_gradient_shape_errors(a_shape, b_shape, message):
    with pytest.raises(ValueError, match=message):
        linalg.conjugate_gradient(tf.ones(a_shape), tf.ones(b_shape))


def test_woodbury_update_gives_the_inverse_of_the_updated_matrix():
    a = _spd(5, 4)
    u = np.random.default_rng(5).normal(size=(3, 5))
    a_inv = np.linalg.inv(a)
    w = linalg.simplified_woodbury_update(a_inv, u)
    np.testing.assert_allclose(a_inv + w, np.linalg.inv(a + u.T @ u), rtol=1e-9)
    w2 = linalg.update_inverse(a_inv, u)
    np.testing.assert_allclose(w2, w, rtol=1e-12)


def test_update_inverse_of_one_row_is_sherman_morrison():
    a_inv = np.linalg.inv(_spd(4, 6))
    x = np.array([[1.0, 2.0, -1.0, 0.5]])
    v = a_inv @ x.T
    expected = -(v @ v.T) / (1.0 + (x @ v).item())
    np.testing.assert_allclose(linalg.update_inverse(a_inv, x), expected, rtol=1e-10)


def test_update_inverse_without_rows_is_zero():
    a_inv = tf.eye(3)
    np.testing.assert_array_equal(
        linalg.update_inverse(a_inv, tf.zeros([0, 3])), np.zeros((3, 3))
    )


@pytest.mark.parametrize(
    "a_shape, u_shape, message",
    [
        ((3, 4), (1, 4), "square"),
        ((3, 3), (3,), "`u` must"),
        ((3, 3), (2, 4), "shaped"),
    ],
)
def test_woodbury_shape_errors(a_shape, u_shape, message):
    with pytest.raises(ValueError, match=message):
        linalg.simplified_woodbury_update(tf.ones(a_shape), tf.ones(u_shape))
