"""Encode nests of NumPy arrays as `tf.train.Example` protos, and decode them back.

Each leaf of a spec nest becomes one feature, keyed by its joined nest path
(`"a/b/0"`), in the wire format TF-Agents writes, so files stay readable by
either library:

- `float32` leaves are a `FloatList`, `int64` leaves an `Int64List`;
- other supported dtypes are a `BytesList` of one string: the values in C order,
  little-endian;
- with `compress_image=True`, `uint8` leaves of shape `(height, width, 1 or 3)`
  are one JPEG string (lossy; needs Pillow to encode).

`_get_feature_encoder` and `_get_feature_parser` are gin-configurable under
those names, as in TF-Agents.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

import gin
import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.typing import types

__all__ = [
    "get_example_decoder",
    "get_example_encoder",
    "get_example_serializer",
]

# The dtypes a feature can hold: float32 and int64 natively, the others as raw
# bytes that `tf.io.decode_raw` reads back.
_SUPPORTED_DTYPES = (
    tf.half,
    tf.float32,
    tf.float64,
    tf.uint8,
    tf.int8,
    tf.uint16,
    tf.int16,
    tf.int32,
    tf.int64,
)

FeatureEncoder = Callable[[Any], tf.train.Feature]
FeatureParser = Callable[[tf.Tensor], tf.Tensor]


def _validate_shape(shape: Any) -> tuple[int, ...]:
    """`shape` as a tuple of positive ints; every dimension must be known."""
    if not isinstance(shape, Iterable):
        raise TypeError(
            f"shape must be a tuple or other iterable of ints, got "
            f"{type(shape).__name__} {shape!r}."
        )
    dims = list(shape)
    validated = []
    for i, dim in enumerate(dims):
        try:
            valid = (
                dim is not None
                and not isinstance(dim, bool)
                and int(dim) == dim
                and int(dim) > 0
            )
        except (TypeError, ValueError, OverflowError):
            valid = False
        if not valid:
            raise ValueError(
                f"Dimension {i} is invalid in shape {tuple(dims)}: expected a "
                f"positive int, got {dim!r}."
            )
        validated.append(int(dim))
    return tuple(validated)


def _validate_dtype(dtype: Any) -> tf.DType:
    """`dtype` as a `tf.DType`, if a feature can hold it."""
    dtype = tf.as_dtype(dtype)
    if dtype not in _SUPPORTED_DTYPES:
        raise ValueError(
            f"dtype {dtype.name} is not supported: expected one of "
            f"{', '.join(d.name for d in _SUPPORTED_DTYPES)}."
        )
    return dtype


def _is_image(shape: tuple[int, ...], dtype: tf.DType) -> bool:
    """Whether a leaf is compressed as JPEG when `compress_image` is on."""
    return dtype == tf.uint8 and len(shape) == 3 and shape[-1] in (1, 3)


def _checked_array(value: Any, shape: tuple[int, ...], dtype: tf.DType) -> np.ndarray:
    """`value` as an array, if its shape and dtype (any byte order) match."""
    array = np.asarray(value)
    got_dtype = tf.as_dtype(array.dtype.newbyteorder("="))
    if array.shape != shape or got_dtype != dtype:
        raise ValueError(
            f"Expected shape {shape} of {dtype.name}, got: shape {array.shape} "
            f"of {got_dtype.name}."
        )
    return array


@gin.configurable
def _get_feature_encoder(
    shape: Any,
    dtype: Any,
    compress_image: bool = False,
    image_quality: int = 95,
) -> FeatureEncoder:
    """The function that turns one array of `shape` and `dtype` into a feature.

    Args:
      shape: the array's shape; every dimension known and positive.
      dtype: the array's dtype, one of `_SUPPORTED_DTYPES`.
      compress_image: JPEG-compress `uint8` arrays of shape `(h, w, 1 or 3)`.
      image_quality: JPEG quality, 0 to 100 (higher is larger and slower).
    """
    shape = _validate_shape(shape)
    dtype = _validate_dtype(dtype)

    if compress_image and _is_image(shape, dtype):
        if not 0 <= image_quality <= 100:
            raise ValueError(
                f"image_quality must be between 0 and 100, got {image_quality}."
            )
        try:
            from PIL import Image
        except ImportError:
            raise ImportError(
                "compress_image=True needs Pillow to write JPEG, which is not "
                "installed: pip install pillow"
            ) from None

        def encode_jpeg(value: Any) -> tf.train.Feature:
            array = _checked_array(value, shape, dtype)
            # PIL takes a 2-D array for one channel.
            image = Image.fromarray(array[:, :, 0] if shape[-1] == 1 else array)
            buffer = io.BytesIO()
            image.save(buffer, format="jpeg", quality=image_quality)
            return tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[buffer.getvalue()])
            )

        return encode_jpeg

    if dtype == tf.float32:

        def encode_floats(value: Any) -> tf.train.Feature:
            array = _checked_array(value, shape, dtype)
            return tf.train.Feature(
                float_list=tf.train.FloatList(value=array.ravel().tolist())
            )

        return encode_floats

    if dtype == tf.int64:

        def encode_ints(value: Any) -> tf.train.Feature:
            array = _checked_array(value, shape, dtype)
            return tf.train.Feature(
                int64_list=tf.train.Int64List(value=array.ravel().tolist())
            )

        return encode_ints

    little_endian = np.dtype(dtype.as_numpy_dtype).newbyteorder("<")

    def encode_bytes(value: Any) -> tf.train.Feature:
        array = _checked_array(value, shape, dtype)
        raw = np.ascontiguousarray(array, dtype=little_endian).tobytes()
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[raw]))

    return encode_bytes


@gin.configurable
def _get_feature_parser(
    shape: Any, dtype: Any, compress_image: bool = False
) -> tuple[tf.io.FixedLenFeature, FeatureParser]:
    """The parsing entry for one feature and the function that decodes it.

    The decode function takes the parsed value of one example; the batched
    decoder maps it over a batch.

    Args:
      shape: the array's shape; every dimension known and positive.
      dtype: the array's dtype, one of `_SUPPORTED_DTYPES`.
      compress_image: the feature was written with `compress_image=True`.
    """
    shape = _validate_shape(shape)
    dtype = _validate_dtype(dtype)

    if compress_image and _is_image(shape, dtype):

        def decode_jpeg(raw: tf.Tensor) -> tf.Tensor:
            image = tf.io.decode_jpeg(raw, channels=shape[-1])
            return tf.ensure_shape(image, shape)

        return tf.io.FixedLenFeature([], tf.string), decode_jpeg

    if dtype in (tf.float32, tf.int64):
        return tf.io.FixedLenFeature(shape, dtype), tf.identity

    def decode_bytes(raw: tf.Tensor) -> tf.Tensor:
        return tf.reshape(tf.io.decode_raw(raw, dtype, little_endian=True), shape)

    return tf.io.FixedLenFeature([], tf.string), decode_bytes


def get_example_encoder(
    spec: types.NestedSpec, compress_image: bool = False, image_quality: int = 95
) -> Callable[[types.NestedArray], tf.train.Example]:
    """A function that encodes one nest of arrays matching `spec` as an Example.

    Each array must have its spec's exact shape and dtype (a float64 array for
    a float32 spec is an error); byte order does not matter.

        encoder = get_example_encoder({"obs": ArraySpec((3,), np.float32)})
        example = encoder({"obs": np.zeros(3, np.float32)})

    Args:
      spec: a nest of `ArraySpec`s or `TensorSpec`s describing one example.
      compress_image: JPEG-compress `uint8` leaves of shape `(h, w, 1 or 3)`.
      image_quality: JPEG quality, 0 to 100.

    Returns:
      `encoder(nest of arrays) -> tf.train.Example`.
    """
    encoders = [
        (path, _get_feature_encoder(s.shape, s.dtype, compress_image, image_quality))
        for path, s in nest_utils.flatten_with_joined_paths(spec)
    ]

    def encode(features: types.NestedArray) -> tf.train.Example:
        leaves = tf.nest.flatten(features)
        if len(leaves) != len(encoders):
            raise ValueError(
                f"Encoding failed: the spec has {len(encoders)} leaves, but the "
                f"features nest has {len(leaves)}."
            )
        feature_map = {}
        for (path, encoder), leaf in zip(encoders, leaves):
            try:
                feature_map[path] = encoder(leaf)
            except ValueError as err:
                raise ValueError(f"Feature '{path}': {err}") from err
        return tf.train.Example(features=tf.train.Features(feature=feature_map))

    return encode


def get_example_serializer(
    spec: types.NestedSpec, compress_image: bool = False, image_quality: int = 95
) -> Callable[[types.NestedArray], bytes]:
    """Like `get_example_encoder`, but the function returns the serialized proto."""
    encoder = get_example_encoder(
        spec, compress_image=compress_image, image_quality=image_quality
    )

    def serialize(features: types.NestedArray) -> bytes:
        return encoder(features).SerializeToString()

    return serialize


def get_example_decoder(
    example_spec: types.NestedSpec, batched: bool = False, compress_image: bool = False
) -> Callable[[types.Tensor], types.NestedTensor]:
    """A function that parses serialized Examples into a nest of tensors.

    Args:
      example_spec: the nest of specs the examples were encoded with.
      batched: the function takes a vector of serialized examples (and returns
        tensors with a leading batch dimension) instead of one.
      compress_image: the examples were written with `compress_image=True`.

    Returns:
      `decoder(serialized string tensor) -> nest of tensors like example_spec`.
    """
    features: dict[str, tf.io.FixedLenFeature] = {}
    parsers: list[tuple[str, FeatureParser, tf.DType]] = []
    for path, s in nest_utils.flatten_with_joined_paths(example_spec):
        feature, parser = _get_feature_parser(s.shape, s.dtype, compress_image)
        features[path] = feature
        parsers.append((path, parser, tf.as_dtype(s.dtype)))

    def decode(serialized: types.Tensor) -> types.NestedTensor:
        if batched:
            raw = tf.io.parse_example(serialized=serialized, features=features)
            # Natively stored features come parsed with their batch dimension.
            leaves = [
                raw[path]
                if parser is tf.identity
                else tf.map_fn(parser, raw[path], fn_output_signature=dtype)
                for path, parser, dtype in parsers
            ]
        else:
            raw = tf.io.parse_single_example(serialized=serialized, features=features)
            leaves = [parser(raw[path]) for path, parser, _ in parsers]
        return tf.nest.pack_sequence_as(example_spec, leaves)

    return decode
