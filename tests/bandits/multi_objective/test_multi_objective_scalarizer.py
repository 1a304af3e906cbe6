"""Scalarizers: values against hand computation, per-row parameters, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.multi_objective import multi_objective_scalarizer as mos

OBJECTIVES = tf.constant([[1.0, 2.0, 3.0], [4.0, -1.0, 0.5]])


def test_linear_weights_each_objective_after_the_transform() -> None:
    plain = mos.LinearScalarizer([1.0, -2.0, 0.5])
    np.testing.assert_allclose(plain(OBJECTIVES), [1 - 4 + 1.5, 4 + 2 + 0.25])
    squared = mos.LinearScalarizer([1.0, 1.0, 1.0], tf.square)
    np.testing.assert_allclose(squared(OBJECTIVES), [14.0, 17.25])


def test_chebyshev_is_the_smallest_weighted_distance_to_the_reference() -> None:
    scalarizer = mos.ChebyshevScalarizer([1.0, 2.0, 1.0], [0.0, 1.0, 0.0])
    # Row 0: min(1, 2, 3) = 1; row 1: min(4, -4, 0.5) = -4.
    np.testing.assert_allclose(scalarizer(OBJECTIVES), [1.0, -4.0])


def test_hypervolume_normalizes_the_direction_and_skips_zero_coordinates() -> None:
    params = [mos.HyperVolumeScalarizer.PARAMS(slope=1.0, offset=0.0)] * 3
    scalarizer = mos.HyperVolumeScalarizer([3.0, 0.0, 4.0], params)
    # Direction (0.6, 0, 0.8); negative objectives count as 0; column 1 is left out.
    np.testing.assert_allclose(
        scalarizer(OBJECTIVES), [min(1 / 0.6, 3 / 0.8), min(4 / 0.6, 0.5 / 0.8)]
    )


def test_per_row_parameters_replace_the_shared_ones() -> None:
    scalarizer = mos.LinearScalarizer([1.0, 1.0, 1.0])
    scalarizer.set_parameters(tf.constant([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]))
    np.testing.assert_allclose(scalarizer(OBJECTIVES), [1.0, 1.0])
    hv = mos.HyperVolumeScalarizer(
        [1.0, 1.0, 1.0], [mos.HyperVolumeScalarizer.PARAMS(1.0, 0.0)] * 3
    )
    hv.set_parameters(
        tf.constant([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        {hv.OFFSET_KEY: tf.constant([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])},
    )
    np.testing.assert_allclose(hv(OBJECTIVES), [2.0, 3.0])


def test_a_tf_function_sees_parameters_set_after_its_first_call() -> None:
    scalarizer = mos.LinearScalarizer([1.0, 0.0, 0.0])
    scalarize = tf.function(lambda s, x: s(x))
    np.testing.assert_allclose(scalarize(scalarizer, OBJECTIVES), [1.0, 4.0])
    scalarizer.set_parameters(tf.constant([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(scalarize(scalarizer, OBJECTIVES), [2.0, -1.0])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: mos.LinearScalarizer([1.0]), "at least two objectives, but only 1"),
        (
            lambda: mos.ChebyshevScalarizer([1.0, 1.0], [0.0, 0.0, 0.0]),
            "weights has 2 elements but reference_point has 3",
        ),
        (
            lambda: mos.HyperVolumeScalarizer(
                [1.0, 1.0], [mos.HyperVolumeScalarizer.PARAMS(1.0, 0.0)] * 3
            ),
            "direction has 2 elements but transform_params has 3",
        ),
        (
            lambda: mos.HyperVolumeScalarizer(
                [1.0, -1.0], [mos.HyperVolumeScalarizer.PARAMS(1.0, 0.0)] * 2
            ),
            r"negative coordinates: \[1.0, -1.0\]",
        ),
        (
            lambda: mos.HyperVolumeScalarizer(
                [0.0, 0.0], [mos.HyperVolumeScalarizer.PARAMS(1.0, 0.0)] * 2
            ),
            "nearly-zero vector",
        ),
    ],
)
def test_bad_construction_names_what_is_wrong(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_calls_and_parameters_name_expected_against_got() -> None:
    scalarizer = mos.LinearScalarizer([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="objectives should be 3, but is 2"):
        scalarizer(tf.zeros([2, 2]))
    with pytest.raises(ValueError, match="rank of the input should be 2, but is 1"):
        scalarizer(tf.zeros([3]))
    with pytest.raises(ValueError, match="weights should be 3, but found to be 2"):
        scalarizer.set_parameters(tf.zeros([2, 2]))
    scalarizer.set_parameters(tf.ones([4, 3]))  # rows for a batch of 4
    with pytest.raises(
        ValueError, match=r"\(2, 3\) does not match .* weights, which is \(4, 3\)"
    ):
        scalarizer(OBJECTIVES)
    hv = mos.HyperVolumeScalarizer(
        [1.0, 1.0], [mos.HyperVolumeScalarizer.PARAMS(1, 0)] * 2
    )
    with pytest.raises(
        ValueError, match="keys should be slope or offset, but one key is not: scale"
    ):
        hv.set_parameters(tf.ones([1, 2]), {"scale": tf.ones([1, 2])})
