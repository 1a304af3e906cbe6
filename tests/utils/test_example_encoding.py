from __future__ import annotations

import gin
import numpy as np
import pytest
import tensorflow as tf

from policylib.specs import array_spec
from policylib.utils import example_encoding as ee

RAW_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float16, np.float64]
ALL_DTYPES = [*RAW_DTYPES, np.float32, np.int64]


def _spec(dtype) -> dict:
    return {
        "scalar": array_spec.ArraySpec((), dtype),
        "nested": {"matrix": array_spec.ArraySpec((2, 3), dtype)},
        "pair": (
            array_spec.ArraySpec((4,), dtype),
            array_spec.ArraySpec((1, 1), dtype),
        ),
    }


def _sample(spec, seed=0):
    rng = np.random.RandomState(seed)
    return tf.nest.map_structure(
        lambda s: rng.randint(0, 100, size=s.shape).astype(s.dtype), spec
    )


def _assert_nests_equal(expected, actual):
    tf.nest.assert_same_structure(expected, actual)
    for e, a in zip(tf.nest.flatten(expected), tf.nest.flatten(actual)):
        a = np.asarray(a)
        assert a.dtype == np.dtype(e.dtype).newbyteorder("=")
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_round_trip_keeps_values_shapes_and_dtypes(dtype):
    spec = _spec(dtype)
    sample = _sample(spec)
    serialized = ee.get_example_serializer(spec)(sample)
    assert isinstance(serialized, bytes)
    _assert_nests_equal(sample, ee.get_example_decoder(spec)(serialized))


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.int64], ids=str)
def test_batched_decoder_adds_a_batch_dimension(dtype):
    spec = _spec(dtype)
    samples = [_sample(spec, seed) for seed in range(3)]
    serializer = ee.get_example_serializer(spec)
    decoded = ee.get_example_decoder(spec, batched=True)(
        tf.constant([serializer(s) for s in samples])
    )
    expected = tf.nest.map_structure(lambda *xs: np.stack(xs), *samples)
    _assert_nests_equal(expected, decoded)


def test_wire_format_matches_tf_agents():
    spec = {
        "f": array_spec.ArraySpec((2,), np.float32),
        "i": array_spec.ArraySpec((2,), np.int64),
        "raw": array_spec.ArraySpec((2,), np.int32),
    }
    example = ee.get_example_encoder(spec)(
        {
            "f": np.array([0.5, 2.0], np.float32),
            "i": np.array([-3, 7]),
            # Big-endian input is stored little-endian.
            "raw": np.array([1, 256], ">i4"),
        }
    )
    feature = example.features.feature
    assert list(feature["f"].float_list.value) == [0.5, 2.0]
    assert list(feature["i"].int64_list.value) == [-3, 7]
    assert list(feature["raw"].bytes_list.value) == [
        b"\x01\x00\x00\x00\x00\x01\x00\x00"
    ]


def test_paths_of_nested_specs_are_the_feature_keys():
    example = ee.get_example_encoder(_spec(np.int64))(_sample(_spec(np.int64)))
    assert sorted(example.features.feature) == [
        "nested/matrix",
        "pair/0",
        "pair/1",
        "scalar",
    ]


def test_big_endian_values_round_trip():
    spec = {"a": array_spec.ArraySpec((2,), np.int16)}
    value = {"a": np.array([100, -25000], ">i2")}
    decoded = ee.get_example_decoder(spec)(ee.get_example_serializer(spec)(value))
    np.testing.assert_array_equal(decoded["a"], [100, -25000])


@pytest.mark.parametrize("bad", [[1, -1], [1, None], [2.5], [0]])
def test_invalid_shapes_name_the_dimension(bad):
    with pytest.raises(
        ValueError, match=r"Dimension \d is invalid in shape .*expected a positive int"
    ):
        ee._validate_shape(bad)


def test_shapes_accept_integral_numbers():
    assert ee._validate_shape((np.int64(2), 3.0)) == (2, 3)
    assert ee._validate_shape(tf.TensorShape([4, 5])) == (4, 5)
    with pytest.raises(TypeError, match="iterable of ints, got int 3"):
        ee._validate_shape(3)


@pytest.mark.parametrize("dtype", [np.bool_, np.complex64, np.uint32])
def test_unsupported_dtypes_list_the_supported_ones(dtype):
    spec = {"x": array_spec.ArraySpec((1,), dtype)}
    with pytest.raises(
        ValueError, match="is not supported: expected one of float16, float32"
    ):
        ee.get_example_encoder(spec)


def test_a_mismatched_value_names_the_feature_and_what_was_expected():
    spec = {"obs": {"pos": array_spec.ArraySpec((3,), np.float32)}}
    encoder = ee.get_example_encoder(spec)
    with pytest.raises(
        ValueError,
        match=r"Feature 'obs/pos': Expected shape \(3,\) of float32, got: shape \(3,\) of float64",
    ):
        encoder({"obs": {"pos": np.zeros(3)}})
    with pytest.raises(ValueError, match=r"got: shape \(2,\) of float32"):
        encoder({"obs": {"pos": np.zeros(2, np.float32)}})


def test_a_nest_with_the_wrong_leaf_count_is_rejected():
    encoder = ee.get_example_encoder(_spec(np.int64))
    with pytest.raises(
        ValueError, match="the spec has 4 leaves, but the features nest has 1"
    ):
        encoder({"scalar": np.int64(1)})


def test_compressed_images_round_trip_and_are_smaller():
    spec = {
        "rgb": array_spec.ArraySpec((32, 32, 3), np.uint8),
        "mask": array_spec.ArraySpec((32, 32, 1), np.uint8),
        "rgba": array_spec.ArraySpec((8, 8, 4), np.uint8),  # not a JPEG: kept raw
    }
    sample = {
        "rgb": np.full((32, 32, 3), 128, np.uint8),
        "mask": np.full((32, 32, 1), 200, np.uint8),
        "rgba": np.arange(256, dtype=np.uint8).reshape(8, 8, 4),
    }
    compressed = ee.get_example_serializer(spec, compress_image=True)(sample)
    raw = ee.get_example_serializer(spec)(sample)
    assert len(compressed) < len(raw)
    decoded = ee.get_example_decoder(spec, compress_image=True)(compressed)
    assert decoded["rgb"].shape == (32, 32, 3)
    _assert_nests_equal(sample, decoded)  # flat colours survive JPEG exactly
    batched = ee.get_example_decoder(spec, batched=True, compress_image=True)(
        tf.constant([compressed, compressed])
    )
    assert batched["mask"].shape == (2, 32, 32, 1)


def test_image_quality_out_of_range_is_rejected():
    spec = {"rgb": array_spec.ArraySpec((4, 4, 3), np.uint8)}
    with pytest.raises(ValueError, match="between 0 and 100, got 101"):
        ee.get_example_encoder(spec, compress_image=True, image_quality=101)


def test_feature_helpers_are_gin_configurable_by_their_tf_agents_names():
    try:
        gin.parse_config(
            "_get_feature_encoder.image_quality = 50\n"
            "_get_feature_parser.compress_image = True"
        )
        assert gin.query_parameter("_get_feature_encoder.image_quality") == 50
    finally:
        gin.clear_config()
