from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.base import composite as base_composite
from policylib.utils import composite


def _sparse(dense: np.ndarray) -> tf.SparseTensor:
    return tf.sparse.from_dense(tf.constant(dense))


DENSE = np.arange(2 * 4 * 3).reshape(2, 4, 3) * (np.arange(3) % 2)  # some zeros


def test_utils_composite_is_the_base_module():
    assert composite is base_composite


@pytest.mark.parametrize("start", [0, 1, 3, 4, 7, -1, -3, -9])
def test_slice_from_matches_python_slicing(start):
    expected = DENSE[:, start:]
    np.testing.assert_array_equal(
        composite.slice_from(tf.constant(DENSE), 1, start), expected
    )
    sparse = composite.slice_from(_sparse(DENSE), 1, start)
    assert sparse.dense_shape.numpy().tolist() == list(expected.shape)
    np.testing.assert_array_equal(tf.sparse.to_dense(sparse), expected)


@pytest.mark.parametrize("end", [0, 1, 3, 4, 7, -1, -3, -9])
def test_slice_to_matches_python_slicing(end):
    expected = DENSE[:, :end]
    np.testing.assert_array_equal(
        composite.slice_to(tf.constant(DENSE), 1, end), expected
    )
    sparse = composite.slice_to(_sparse(DENSE), 1, end)
    assert sparse.dense_shape.numpy().tolist() == list(expected.shape)
    np.testing.assert_array_equal(tf.sparse.to_dense(sparse), expected)


def test_tensor_bounds_and_negative_axis():
    sparse = _sparse(DENSE)
    np.testing.assert_array_equal(
        tf.sparse.to_dense(composite.slice_from(sparse, -1, tf.constant(-2))),
        DENSE[..., -2:],
    )
    np.testing.assert_array_equal(
        tf.sparse.to_dense(composite.slice_to(sparse, -1, tf.constant(2, tf.int32))),
        DENSE[..., :2],
    )
    np.testing.assert_array_equal(composite.slice_from(DENSE, -1, 1), DENSE[..., 1:])


def test_slicing_inside_a_function_with_unknown_dims():
    @tf.function(input_signature=[tf.SparseTensorSpec([None, None, 3], tf.int64)])
    def tail(st):
        return composite.slice_from(st, 0, 1)

    np.testing.assert_array_equal(tf.sparse.to_dense(tail(_sparse(DENSE))), DENSE[1:])


def test_bad_axis_is_a_clear_error():
    with pytest.raises(
        ValueError,
        match=r"axis 3 is out of range for a rank-3 tensor: expected -3 <= axis < 3",
    ):
        composite.slice_from(tf.constant(DENSE), 3, 1)
    with pytest.raises(ValueError, match="axis -4 is out of range"):
        composite.slice_to(_sparse(DENSE), -4, 1)


def test_unknown_rank_is_a_clear_error():
    @tf.function(input_signature=[tf.TensorSpec(None, tf.int64)])
    def head(t):
        return composite.slice_to(t, 0, 1)

    with pytest.raises(ValueError, match="unknown rank"):
        head.get_concrete_function()
