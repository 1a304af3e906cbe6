"""TensorFlow-side specs and helpers.

`TensorSpec` and `BoundedTensorSpec` are TensorFlow's own classes, so specs
written here round-trip through SavedModels and `StructuredValue` protos
exactly as TF-Agents' do. The helpers convert between array and tensor specs,
sample and zero-fill spec nests, and (de)serialize specs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import tensorflow as tf
from google.protobuf import any_pb2, text_format
from tensorflow.core.protobuf import struct_pb2
from tensorflow.python.framework import tensor_spec as _tf_tensor_spec
from tensorflow.python.saved_model import nested_structure_coder

from policylib.base import file_modes
from policylib.specs import array_spec

if TYPE_CHECKING:
    from policylib.typing import types

T = TypeVar("T")


TensorSpec = tf.TensorSpec
BoundedTensorSpec = _tf_tensor_spec.BoundedTensorSpec

__all__ = [
    "BoundedTensorSpec",
    "TensorSpec",
    "add_outer_dim",
    "add_outer_dims_nest",
    "from_packed_proto",
    "from_pbtxt_file",
    "from_proto",
    "from_spec",
    "is_bounded",
    "is_continuous",
    "is_discrete",
    "remove_outer_dims_nest",
    "sample_bounded_spec",
    "sample_spec_nest",
    "to_array_spec",
    "to_nest_array_spec",
    "to_nest_placeholder",
    "to_pbtxt_file",
    "to_placeholder",
    "to_placeholder_with_default",
    "to_proto",
    "with_dtype",
    "zero_spec_nest",
]


def is_bounded(spec: object) -> bool:
    """True for bounded array/tensor specs or anything carrying min/max bounds."""
    if isinstance(spec, (array_spec.BoundedArraySpec, BoundedTensorSpec)):
        return True
    return all(hasattr(spec, a) for a in ("minimum", "maximum", "dtype", "shape"))


def is_discrete(spec: types.Spec) -> bool:
    """True if the spec's dtype is an integer type."""
    if isinstance(spec, tf.TypeSpec):
        return spec.dtype.is_integer
    return array_spec.is_discrete(spec)


def is_continuous(spec: types.Spec) -> bool:
    """True if the spec's dtype is a floating-point type."""
    if isinstance(spec, tf.TypeSpec):
        return spec.dtype.is_floating
    return array_spec.is_continuous(spec)


def _tf_dtype(dtype: npt.DTypeLike | tf.DType) -> tf.DType:
    np_dtype = np.dtype(dtype) if not isinstance(dtype, tf.DType) else None
    if np_dtype is not None and np_dtype.kind in "SUO":
        return tf.string
    return tf.as_dtype(dtype)


def _leaf_from_spec(spec: Any) -> types.TensorSpec:
    if isinstance(spec, tf.TypeSpec):
        return spec
    if isinstance(spec, array_spec.ArraySpec) or (
        hasattr(spec, "shape") and hasattr(spec, "dtype")
    ):
        dtype = _tf_dtype(spec.dtype)
        name = getattr(spec, "name", None)
        if is_bounded(spec):
            return BoundedTensorSpec(
                spec.shape, dtype, spec.minimum, spec.maximum, name
            )
        return TensorSpec(spec.shape, dtype, name)
    raise ValueError(
        f"No known conversion from {spec!r} ({type(spec).__name__}) to a TensorSpec."
    )


def from_spec(spec: types.NestedSpec) -> Any:
    """Converts every spec in a nest to a `TensorSpec`/`BoundedTensorSpec`.

    TypeSpecs pass through unchanged; ArraySpecs keep their bounds and names.
    """
    return tf.nest.map_structure(_leaf_from_spec, spec)


def _leaf_to_array_spec(spec: Any) -> array_spec.ArraySpec:
    if isinstance(spec, array_spec.ArraySpec):
        return spec
    if isinstance(spec, tf.TypeSpec) and not hasattr(spec, "dtype"):
        raise ValueError(f"Cannot convert {spec!r} to an ArraySpec.")
    if not (hasattr(spec, "shape") and hasattr(spec, "dtype")):
        raise TypeError(
            f"Cannot convert {spec!r} ({type(spec).__name__}) to an ArraySpec: "
            "expected a TensorSpec or ArraySpec."
        )
    shape = (
        spec.shape.as_list() if isinstance(spec.shape, tf.TensorShape) else spec.shape
    )
    dtype = (
        spec.dtype.as_numpy_dtype if isinstance(spec.dtype, tf.DType) else spec.dtype
    )
    if is_bounded(spec):
        return array_spec.BoundedArraySpec(
            shape, dtype, spec.minimum, spec.maximum, getattr(spec, "name", None)
        )
    return array_spec.ArraySpec(shape, dtype, getattr(spec, "name", None))


def to_array_spec(tensor_spec: types.NestedSpec) -> Any:
    """Converts every spec in a nest to an `ArraySpec`/`BoundedArraySpec`."""
    return tf.nest.map_structure(_leaf_to_array_spec, tensor_spec)


def to_nest_array_spec(nest_array_spec: types.NestedSpec) -> Any:
    """Deprecated alias of `to_array_spec`."""
    return to_array_spec(nest_array_spec)


# ----------------------------------------------------------------------------
# Sampling


def _leaf_seeds(seed: types.Seed, count: int) -> list[int | None]:
    """Per-leaf op seeds: the stream TF-Agents draws, so a seed samples alike.

    Same seeds, same draws: TF-Agents' tests compare against values sampled
    with a fixed seed (a saved Q-RNN policy's TFLite test passes only when the
    sampled step types reset the recurrent state as they do there).
    """
    if seed is None:
        return [None] * count
    import tensorflow_probability as tfp

    stream = tfp.util.SeedStream(seed=seed, salt="sample_spec_nest")
    return [stream() for _ in range(count)]


def _shape_with_outer(
    outer_dims: types.Shape | None, shape: tf.TensorShape
) -> list | tf.Tensor:
    if isinstance(outer_dims, (str, bytes, float)) or not (
        outer_dims is None
        or tf.is_tensor(outer_dims)
        or (
            hasattr(outer_dims, "__iter__")
            and all(
                d is None or tf.is_tensor(d) or hasattr(d, "__index__")
                for d in outer_dims
            )
        )
    ):
        raise TypeError(
            f"outer_dims must be a list or tuple of ints or an int tensor, got {outer_dims!r}."
        )
    if outer_dims is None:
        return shape.as_list()
    if tf.is_tensor(outer_dims):
        return tf.concat(
            [tf.cast(tf.reshape(outer_dims, [-1]), tf.int32), shape.as_list()], 0
        )
    return list(outer_dims) + shape.as_list()


def _clamped_float_bounds(dtype: tf.DType, low: np.ndarray, high: np.ndarray):
    # Keep `high - low` finite so tf.random.uniform never produces inf/nan.
    limit = dtype.max / 8.0
    return np.clip(low, -limit, limit), np.clip(high, -limit, limit)


def _sample_dtype(dtype: tf.DType) -> tf.DType:
    """The dtype tf.random.uniform draws in for samples of `dtype`."""
    if dtype.is_floating:
        return tf.float64 if dtype == tf.float64 else tf.float32
    return tf.int64 if dtype in (tf.int64, tf.uint32, tf.uint64) else tf.int32


def _uniform(
    shape: types.Shape, low: types.Float, high: types.Float, dtype: tf.DType, seed
) -> tf.Tensor:
    """Uniform draws in `[low, high]` (scalars); integer maxima are included."""
    if dtype.is_integer:
        low = max(int(low), dtype.min)
        high = min(int(high), dtype.max)
        if high <= low:
            return tf.fill(shape, tf.constant(low, dtype))
        # Exclusive upper bound; at the dtype's maximum the maximum is excluded.
        high = high if high >= dtype.max else high + 1
    return tf.random.uniform(shape, minval=low, maxval=high, dtype=dtype, seed=seed)


def sample_bounded_spec(
    spec: types.TensorSpec,
    seed: int | None = None,
    outer_dims: types.Shape | None = None,
) -> tf.Tensor:
    """Uniformly samples a (bounded) tensor spec.

    Integer samples include the maximum unless it is the dtype's maximum; float
    bounds are clamped to a finite range so that the width never overflows.
    Element-wise bounds draw one uniform per bound position and stack them, as
    TF-Agents does, so a seeded draw matches its values.
    """
    dtype = spec.dtype
    shape = _shape_with_outer(outer_dims, spec.shape)
    if dtype == tf.string:
        ints = _uniform(shape, 0, 10, tf.int32, seed)
        return tf.strings.as_string(ints)
    if dtype == tf.bool:
        return tf.cast(_uniform(shape, 0, 1, tf.int32, seed), tf.bool)
    if not (dtype.is_floating or dtype.is_integer):
        raise TypeError(f"Cannot sample from spec {spec!r}: unsupported dtype {dtype}.")
    if is_bounded(spec):
        low = np.asarray(spec.minimum)
        high = np.asarray(spec.maximum)
    else:
        low = np.asarray(dtype.min)
        high = np.asarray(dtype.max)
    if dtype.is_floating:
        low, high = _clamped_float_bounds(
            dtype, low.astype(np.float64), high.astype(np.float64)
        )
    draw = _sample_dtype(dtype)
    if np.all(low == low.flat[0]) and np.all(high == high.flat[0]):
        sample = _uniform(shape, low.flat[0], high.flat[0], draw, seed)
        return tf.cast(sample, dtype)
    # Element-wise bounds over the trailing dims `bounds`: one draw per position.
    low, high = np.broadcast_arrays(low, high)
    rank = low.ndim
    if tf.is_tensor(shape):
        outer = shape[: tf.size(shape) - rank]
    else:
        outer = shape[: len(shape) - rank]
    columns = [
        _uniform(outer, lo, hi, draw, seed) for lo, hi in zip(low.flat, high.flat)
    ]
    sample = tf.reshape(tf.stack(columns, axis=-1), shape)
    return tf.cast(sample, dtype)


_SPARSE_ENTRIES = 7


def _sample_sparse(spec: tf.SparseTensorSpec, seed, outer_dims) -> tf.SparseTensor:
    """A sparse sample with the same number of entries (up to 7) for every spec.

    A fixed count lets sparse features sampled together line up, as
    weighted categorical columns need (ids and weights with equal counts).
    Entries sit at distinct positions, in canonical order.
    """
    dense_spec = TensorSpec(spec.shape, spec.dtype)
    dense = sample_bounded_spec(
        BoundedTensorSpec.from_spec(dense_spec)
        if spec.dtype.is_integer or spec.dtype.is_floating
        else dense_spec,
        seed=seed,
        outer_dims=outer_dims,
    )
    shape = tf.shape(dense, out_type=tf.int64)
    size = tf.reduce_prod(shape)
    count = tf.minimum(size, _SPARSE_ENTRIES)
    positions = tf.sort(
        tf.random.shuffle(tf.range(size), seed=None if seed is None else seed + 1)[
            :count
        ]
    )
    indices = tf.transpose(tf.unravel_index(positions, shape))
    values = tf.gather_nd(dense, indices)
    return tf.SparseTensor(indices, values, shape)


def sample_spec_nest(
    structure: types.NestedTensorSpec,
    seed: types.Seed = None,
    outer_dims: types.Shape | None = (),
    minimum: types.Float | None = None,
    maximum: types.Float | None = None,
) -> Any:
    """Samples every spec of a nest; unbounded specs use their dtype's range.

    Args:
      structure: nest of `TensorSpec`/`BoundedTensorSpec`/`SparseTensorSpec`.
      seed: optional op-level seed; each leaf gets its own derived seed.
      outer_dims: dims (list, tuple or int tensor) prepended to every sample.
      minimum, maximum: optional extra bounds intersected with each spec's.
    """
    flat = tf.nest.flatten(structure)
    seeds = _leaf_seeds(seed, len(flat))

    def _sample(spec: types.Spec, leaf_seed: int | None):
        if isinstance(spec, tf.SparseTensorSpec):
            return _sample_sparse(spec, leaf_seed, outer_dims)
        if isinstance(spec, array_spec.ArraySpec):
            spec = _leaf_from_spec(spec)
        if not isinstance(spec, tf.TensorSpec):
            raise TypeError(f"sample_spec_nest cannot sample {spec!r}.")
        if (minimum is not None or maximum is not None) and (
            spec.dtype.is_integer or spec.dtype.is_floating
        ):
            bounded = BoundedTensorSpec.from_spec(spec)
            low = np.asarray(bounded.minimum)
            high = np.asarray(bounded.maximum)
            if minimum is not None:
                low = np.maximum(low, np.asarray(minimum, low.dtype))
            if maximum is not None:
                high = np.minimum(high, np.asarray(maximum, high.dtype))
            spec = BoundedTensorSpec(spec.shape, spec.dtype, low, high, spec.name)
        return sample_bounded_spec(spec, seed=leaf_seed, outer_dims=outer_dims)

    return tf.nest.pack_sequence_as(
        structure, [_sample(s, sd) for s, sd in zip(flat, seeds)]
    )


def zero_spec_nest(
    specs: types.NestedSpec, outer_dims: types.Shape | None = None
) -> Any:
    """Zero tensors shaped `outer_dims + spec.shape` for every dense spec."""

    def _zeros(spec: types.Spec) -> tf.Tensor:
        if not isinstance(spec, tf.TensorSpec):
            raise NotImplementedError(
                f"zero_spec_nest: spec type not supported: {spec!r}; only dense "
                "TensorSpecs can be zero-filled."
            )
        if outer_dims is None:
            shape = spec.shape
        elif tf.is_tensor(outer_dims):
            shape = tf.concat([tf.cast(outer_dims, tf.int32), spec.shape.as_list()], 0)
        else:
            shape = list(outer_dims) + spec.shape.as_list()
        return tf.zeros(shape, spec.dtype)

    return tf.nest.map_structure(_zeros, specs)


# ----------------------------------------------------------------------------
# Shape and dtype edits


def _replace_leaf(
    spec: types.Spec,
    shape: Sequence[int] | None = None,
    dtype: tf.DType | None = None,
) -> types.Spec:
    shape = spec.shape if shape is None else shape
    dtype = spec.dtype if dtype is None else dtype
    if isinstance(spec, array_spec.ArraySpec):
        return spec.replace(shape=shape, dtype=dtype)
    if isinstance(spec, BoundedTensorSpec):
        return BoundedTensorSpec(shape, dtype, spec.minimum, spec.maximum, spec.name)
    if isinstance(spec, tf.TensorSpec):
        return TensorSpec(shape, dtype, spec.name)
    if isinstance(spec, tf.SparseTensorSpec):
        return tf.SparseTensorSpec(shape, dtype)
    raise ValueError(f"Unsupported spec for shape/dtype edits: {spec!r}.")


def add_outer_dims_nest(specs: T, outer_dims: Sequence[int | None]) -> T:
    """Prepends `outer_dims` (a list or tuple) to every spec's shape."""
    if not isinstance(outer_dims, (tuple, list)):
        raise ValueError(
            f"outer_dims must be a tuple or list of dims, got {outer_dims!r}."
        )
    outer = tf.TensorShape(list(outer_dims))
    return tf.nest.map_structure(
        lambda s: _replace_leaf(s, shape=outer.concatenate(s.shape)), specs
    )


def add_outer_dim(specs: T, dim: int | None = None) -> T:
    """Prepends one dimension (unknown by default) to every spec's shape."""
    return add_outer_dims_nest(specs, [dim])


def remove_outer_dims_nest(specs: T, num_outer_dims: int) -> T:
    """Drops the first `num_outer_dims` dims of every spec's shape."""

    def _remove(spec: types.Spec) -> types.Spec:
        shape = tf.TensorShape(spec.shape)
        if shape.rank is None or shape.rank < num_outer_dims:
            raise ValueError(
                f"Cannot remove {num_outer_dims} outer dims from {spec!r}: its rank is {shape.rank}."
            )
        return _replace_leaf(spec, shape=shape[num_outer_dims:])

    return tf.nest.map_structure(_remove, specs)


def with_dtype(specs: T, dtype: tf.DType) -> T:
    """Every spec with its dtype replaced by `dtype` (bounds kept)."""
    return tf.nest.map_structure(lambda s: _replace_leaf(s, dtype=dtype), specs)


# ----------------------------------------------------------------------------
# Protos and files


def to_proto(spec: types.NestedTensorSpec) -> struct_pb2.StructuredValue:
    """Encodes a spec nest as a `StructuredValue` proto."""
    return nested_structure_coder.encode_structure(from_spec(spec))


def from_proto(spec_proto: struct_pb2.StructuredValue) -> Any:
    """Decodes a spec nest from a `StructuredValue` proto."""
    return nested_structure_coder.decode_proto(spec_proto)


def from_packed_proto(spec_packed_proto: any_pb2.Any) -> Any:
    """Decodes a spec nest from an `Any` proto holding a `StructuredValue`."""
    spec_proto = struct_pb2.StructuredValue()
    spec_packed_proto.Unpack(spec_proto)
    return from_proto(spec_proto)


def to_pbtxt_file(output_path: str, spec: types.NestedTensorSpec) -> None:
    """Writes a spec nest as a text `StructuredValue`, atomically."""
    text = text_format.MessageToString(to_proto(spec))
    directory = os.path.dirname(output_path) or "."
    file_modes.makedirs(directory)
    if "://" in output_path:
        with tf.io.gfile.GFile(output_path, "w") as f:
            f.write(text)
        return
    try:  # Overwriting keeps the file's mode, as `open(path, "w")` would.
        mode = os.stat(output_path).st_mode & 0o7777
    except OSError:
        mode = file_modes.default_file_mode()
    fd, tmp = tempfile.mkstemp(prefix=".spec_", dir=directory)
    try:
        os.fchmod(fd, mode)  # mkstemp's 0600 would hide the specs from other users.
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, output_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def from_pbtxt_file(spec_path: str) -> Any:
    """Reads a spec nest written by `to_pbtxt_file` (or TF-Agents)."""
    with tf.io.gfile.GFile(spec_path, "rb") as f:
        proto = text_format.Parse(f.read(), struct_pb2.StructuredValue())
    return from_proto(proto)


# ----------------------------------------------------------------------------
# TF1 placeholders (graph mode only)


def to_placeholder(
    spec: types.TensorSpec, outer_dims: Sequence[int | None] = ()
) -> tf.Tensor:
    """A graph-mode placeholder for `spec` with `outer_dims` prepended."""
    shape = list(outer_dims) + tf.TensorShape(spec.shape).as_list()
    return tf.compat.v1.placeholder(
        spec.dtype, shape=shape, name=getattr(spec, "name", None)
    )


def to_placeholder_with_default(
    default: types.Tensor, spec: types.TensorSpec, outer_dims: Sequence[int | None] = ()
) -> tf.Tensor:
    """A graph-mode placeholder for `spec` that falls back to `default`."""
    shape = list(outer_dims) + tf.TensorShape(spec.shape).as_list()
    return tf.compat.v1.placeholder_with_default(
        default, shape=shape, name=getattr(spec, "name", None)
    )


def to_nest_placeholder(
    nested_tensor_specs: types.NestedTensorSpec,
    default: types.NestedTensor | None = None,
    name_scope: str = "",
    outer_dims: Sequence[int | None] = (),
) -> Any:
    """Placeholders for a spec nest, optionally with a default and a name scope."""

    def _make(spec: types.TensorSpec) -> tf.Tensor:
        if default is None:
            return to_placeholder(spec, outer_dims)
        value = tf.cast(
            tf.fill(list(outer_dims) + spec.shape.as_list(), default), spec.dtype
        )
        return to_placeholder_with_default(value, spec, outer_dims)

    with tf.name_scope(name_scope):
        return tf.nest.map_structure(_make, nested_tensor_specs)
