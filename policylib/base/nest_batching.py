"""Outer (batch/time) dimensions of nests: how many there are, adding, removing, splitting, stacking.

Tensors are compared against specs of *unbatched* values to count their outer
dims; the NumPy helpers at the end do the same for array nests. Re-exported by
`nest_utils`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from policylib.base.lazy_tf import nest as _nest
from policylib.base.lazy_tf import tf
from policylib.base.nest_checks import format_mismatch, spec_shape
from policylib.base.nest_structure import assert_same_structure, prune_extra_keys

if TYPE_CHECKING:
    from policylib.typing import types

T = TypeVar("T")


# ----------------------------------------------------------------------------
# Outer rank


def _outer_rank_info(
    tensors: types.NestedTensor, specs: types.NestedSpec
) -> tuple[list, list, list]:
    """Per leaf: the tensor shapes, the spec shapes and the tensors."""
    flat_t = _nest.flatten(tensors)
    t_shapes = [spec_shape(t) for t in flat_t]
    s_shapes = [spec_shape(s) for s in _nest.flatten(specs)]
    for kind, shapes in (("spec", s_shapes), ("tensor", t_shapes)):
        unknown = [
            (i, shape, "a known rank")
            for i, shape in enumerate(shapes)
            if shape.rank is None
        ]
        if unknown:
            raise ValueError(
                f"All {kind}s should have a known rank (got vs. expected):\n"
                + format_mismatch(specs, unknown)
            )
    return t_shapes, s_shapes, flat_t


def _classify(t_shapes: list, s_shapes: list) -> tuple[bool, list[int], bool]:
    unbatched = all(s.is_compatible_with(t) for s, t in zip(s_shapes, t_shapes))
    discrepancies = [t.rank - s.rank for s, t in zip(s_shapes, t_shapes)]
    inner_match = all(
        d >= 0 and s.is_compatible_with(t[d:])
        for d, s, t in zip(discrepancies, s_shapes, t_shapes)
    )
    return unbatched, discrepancies, inner_match


def _mix_error(
    num_outer_dims: int, specs: types.NestedSpec, t_shapes, s_shapes
) -> ValueError:
    rows = [(i, t, s) for i, (t, s) in enumerate(zip(t_shapes, s_shapes))]
    return ValueError(
        "Received a mix of batched and unbatched Tensors, or Tensors are not compatible "
        f"with Specs. num_outer_dims: {num_outer_dims}. (tensor shape vs. spec shape)\n"
        + format_mismatch(specs, rows)
    )


def is_batched_nested_tensors(
    tensors: types.NestedTensor,
    specs: types.NestedSpec,
    num_outer_dims: int = 1,
    allow_extra_fields: bool = False,
    check_dtypes: bool = True,
) -> bool:
    """Whether `tensors` carry exactly `num_outer_dims` outer dims over `specs`.

    Returns False when every tensor matches its spec as is (or all carry the
    same, different number of outer dims), True when all carry
    `num_outer_dims`.

    Raises:
      ValueError: structures differ, or batched and unbatched tensors are mixed.
      TypeError: `check_dtypes` and a dtype differs from its spec's.
    """
    if allow_extra_fields:
        tensors = prune_extra_keys(specs, tensors)
    assert_same_structure(
        tensors, specs, message="Tensors and specs do not have matching structures"
    )
    t_shapes, s_shapes, flat_t = _outer_rank_info(tensors, specs)
    if check_dtypes:
        bad = [
            (i, t.dtype.name, s.dtype.name)
            for i, (t, s) in enumerate(zip(flat_t, _nest.flatten(specs)))
            if tf.as_dtype(t.dtype) != tf.as_dtype(s.dtype)
        ]
        if bad:
            raise TypeError(
                "Tensor dtypes do not match spec dtypes (tensor vs. spec):\n"
                + format_mismatch(specs, bad)
            )
    unbatched, discrepancies, inner_match = _classify(t_shapes, s_shapes)
    if unbatched:
        return False
    if inner_match and all(d == num_outer_dims for d in discrepancies):
        return True
    if inner_match and len(set(discrepancies)) == 1:
        return False
    raise _mix_error(num_outer_dims, specs, t_shapes, s_shapes)


def get_outer_rank(tensors: types.NestedTensor, specs: types.NestedSpec) -> int:
    """The number of outer dims all `tensors` carry over their `specs` (0 if none).

    Raises:
      ValueError: the structures differ, a shape is incompatible, or the
        tensors disagree on the number of outer dims.
    """
    assert_same_structure(
        tensors, specs, message="Tensors and specs do not have matching structures"
    )
    t_shapes, s_shapes, _ = _outer_rank_info(tensors, specs)
    unbatched, discrepancies, inner_match = _classify(t_shapes, s_shapes)
    if unbatched:
        return 0
    if inner_match and len(set(discrepancies)) == 1:
        return discrepancies[0]
    raise _mix_error(
        discrepancies[0] if discrepancies else 0, specs, t_shapes, s_shapes
    )


def get_outer_shape(
    nested_tensor: types.NestedTensor, spec: types.NestedSpec
) -> tf.Tensor:
    """The runtime outer (batch) shape of `nested_tensor`, `[]` if unbatched."""
    assert_same_structure(
        nested_tensor, spec, message="Tensors and specs do not have matching structures"
    )
    first_tensor = _nest.flatten(nested_tensor)[0]
    first_spec = _nest.flatten(spec)[0]
    num_outer_dims = len(first_tensor.shape) - len(spec_shape(first_spec))
    if not is_batched_nested_tensors(
        nested_tensor, spec, num_outer_dims=num_outer_dims, check_dtypes=False
    ):
        return tf.constant([], dtype=tf.int32)
    return tf.shape(first_tensor)[:num_outer_dims]


# ----------------------------------------------------------------------------
# Batching tensors


def _expand_dims0(t: types.Tensor) -> types.Tensor:
    if isinstance(t, tf.SparseTensor):
        return tf.sparse.expand_dims(t, 0)
    return tf.expand_dims(t, 0)


def _squeeze0(t: types.Tensor) -> types.Tensor:
    if isinstance(t, tf.SparseTensor):
        return tf.sparse.reshape(t, tf.shape(t, out_type=tf.int64)[1:])
    return tf.squeeze(t, axis=[0])


def batch_nested_tensors(tensors: T, specs: types.NestedSpec = None) -> T:
    """Adds a batch dim of size 1 unless `tensors` are already batched over `specs`."""
    if specs is None:
        return _nest.map_structure(_expand_dims0, tensors)
    if is_batched_nested_tensors(tensors, specs, check_dtypes=False):
        return tensors
    return _nest.map_structure(_expand_dims0, tensors)


def unbatch_nested_tensors(tensors: T, specs: types.NestedSpec = None) -> T:
    """Removes a size-1 batch dim unless `tensors` are already unbatched."""
    if specs is None:
        return _nest.map_structure(_squeeze0, tensors)
    if not is_batched_nested_tensors(tensors, specs, check_dtypes=False):
        return tensors
    return _nest.map_structure(_squeeze0, tensors)


def split_nested_tensors(
    tensors: types.NestedTensor,
    specs: types.NestedSpec,
    num_or_size_splits: int | Sequence[int] | types.Tensor,
) -> list:
    """Splits every tensor along the batch axis; returns a list of nests."""
    assert_same_structure(
        tensors, specs, message="Tensors and specs do not have matching structures"
    )

    def _split(t: types.Tensor) -> list:
        if isinstance(t, tf.SparseTensor):
            if not isinstance(num_or_size_splits, int):
                raise ValueError("Sparse tensors can only be split into equal parts.")
            return tf.sparse.split(sp_input=t, num_split=num_or_size_splits, axis=0)
        return tf.split(t, num_or_size_splits)

    pieces = [_split(t) for t in _nest.flatten(tensors)]
    return [_nest.pack_sequence_as(tensors, list(parts)) for parts in zip(*pieces)]


def unstack_nested_tensors(
    tensors: types.NestedTensor, specs: types.NestedSpec
) -> list:
    """Unstacks every tensor along the batch axis; returns a list of nests."""
    assert_same_structure(
        tensors, specs, message="Tensors and specs do not have matching structures"
    )
    pieces = [tf.unstack(t) for t in _nest.flatten(tensors)]
    return [_nest.pack_sequence_as(tensors, list(parts)) for parts in zip(*pieces)]


def stack_nested_tensors(tensors: Sequence[T], axis: int = 0) -> T:
    """Stacks a list of identically structured nests along `axis`."""
    return _nest.map_structure(lambda *ts: tf.stack(ts, axis=axis), *tensors)


def flatten_multi_batched_nested_tensors(
    tensors: types.NestedTensor, specs: types.NestedSpec
) -> tuple[types.NestedTensor, tf.Tensor]:
    """Merges all outer dims into one; returns `(flattened, outer_dims)`."""
    outer_rank = get_outer_rank(tensors, specs)
    first = _nest.flatten(tensors)[0]
    outer_shape = tf.shape(first)[:outer_rank]

    # No annotated locals below: AutoGraph (this runs inside tf.function) cannot
    # convert a function whose annotated name is assigned in a branch.
    def _flatten(t: types.Tensor, spec: types.TensorSpec) -> types.Tensor:
        inner = spec_shape(spec)
        sparse = isinstance(t, tf.SparseTensor)
        if inner.is_fully_defined():
            new_shape = [-1] + inner.as_list()
        elif sparse:
            new_shape = tf.concat(
                [[-1], tf.shape(t, out_type=tf.int64)[outer_rank:]], 0
            )
        else:
            new_shape = tf.concat([[-1], tf.shape(t)[outer_rank:]], 0)
        if sparse:
            return tf.sparse.reshape(t, new_shape)
        return tf.reshape(t, new_shape)

    return _nest.map_structure(_flatten, tensors, specs), outer_shape


def where(condition: types.Bool, true_outputs: T, false_outputs: T) -> T:
    """Nest-wise `tf.where`; a `[B]` condition broadcasts over higher-rank leaves.

    Raises:
      ValueError: the condition has a higher rank than some output leaf.
    """
    condition = tf.convert_to_tensor(condition)
    cond_rank = condition.shape.rank

    def _where(t: types.Tensor, f: types.Tensor) -> tf.Tensor:
        t = tf.convert_to_tensor(t)
        f = tf.convert_to_tensor(f)
        rank = t.shape.rank
        if cond_rank is None or rank is None:
            return tf.where(condition, t, f)
        if cond_rank > rank:
            raise ValueError(
                f"where: the condition has rank {cond_rank} ({condition.shape}), more than "
                f"the output leaf of rank {rank} ({t.shape})."
            )
        cond = condition
        if rank > cond_rank:
            cond = tf.reshape(
                condition,
                tf.concat(
                    [tf.shape(condition), tf.ones([rank - cond_rank], tf.int32)], 0
                ),
            )
        return tf.where(cond, t, f)

    return _nest.map_structure(_where, true_outputs, false_outputs)


def remove_singleton_batch_spec_dim(spec: tf.TypeSpec, outer_ndim: int) -> tf.TypeSpec:
    """Removes up to `outer_ndim` leading dims of size 1 from a TypeSpec.

    Stops at the first leading dim that is not 1 (some Keras layers drop a
    singleton time dim themselves).
    """
    shape = getattr(spec, "shape", None)
    if shape is None:
        shape = getattr(spec, "_shape", None)
    if shape is None:
        raise ValueError(
            f"Could not remove singleton batch dim from spec; it lacks a shape: {spec}"
        )
    for i in range(outer_ndim):
        if len(shape) <= i or tf.compat.dimension_value(shape[i]) != 1:
            break
        spec = spec._unbatch()  # noqa: SLF001 - the TypeSpec API for dropping dim 0
    return spec


def tile_batch(tensors: T, multiplier: int) -> T:
    """Repeats each batch entry `multiplier` times: `[B, ...]` -> `[B * m, ...]`.

    Entries stay grouped: rows `b * m .. b * m + m - 1` are copies of row `b`.
    """

    def _tile(t: types.Tensor) -> tf.Tensor:
        t = tf.convert_to_tensor(t)
        tiled = tf.repeat(t, multiplier, axis=0)
        if (
            t.shape.rank is not None
            and t.shape[0] is not None
            and isinstance(multiplier, int)
        ):
            tiled = tf.ensure_shape(
                tiled, [t.shape[0] * multiplier] + t.shape.as_list()[1:]
            )
        return tiled

    return _nest.map_structure(_tile, tensors)


# ----------------------------------------------------------------------------
# NumPy nests


def batch_nested_array(nested_array: T) -> T:
    """Adds a leading dim of size 1 to every array (a view, as `np.expand_dims`)."""
    return _nest.map_structure(lambda a: np.asarray(a)[np.newaxis], nested_array)


def unbatch_nested_array(nested_array: T) -> T:
    """Removes a leading dim of size 1 from every array."""
    return _nest.map_structure(lambda a: np.squeeze(a, 0), nested_array)


def unbatch_nested_tensors_to_arrays(
    nested_tensors: types.NestedTensor,
) -> types.NestedArray:
    """Converts tensors to arrays and removes their leading dim of size 1."""

    def _convert(t: types.Tensor) -> np.ndarray:
        value = t.numpy() if hasattr(t, "numpy") else np.asarray(t)
        return np.squeeze(value, 0)

    return _nest.map_structure(_convert, nested_tensors)


def unstack_nested_arrays_into_flat_items(
    nested_array: types.NestedArray,
) -> list[list]:
    """One flat list of leaves per entry of the leading axis."""
    flat = _nest.flatten(nested_array)
    if not flat:
        return []
    return [list(items) for items in zip(*flat)]


def unstack_nested_arrays(nested_array: types.NestedArray) -> list:
    """One nest per entry of the leading axis."""
    flat = _nest.flatten(nested_array)
    if not flat:
        return []
    if not _nest.is_nested(nested_array):
        return list(flat[0])
    return [_nest.pack_sequence_as(nested_array, list(items)) for items in zip(*flat)]


def stack_nested_arrays(nested_arrays: Sequence[T]) -> T:
    """Stacks a list of identically structured array nests along a new axis 0."""
    if len(nested_arrays) == 1:
        # A batch of one (every step of a single wrapped env): a copy with a
        # new axis, without `np.stack`'s per-leaf overhead (~4 us a leaf).
        (only,) = nested_arrays
        flat = [np.array(leaf)[np.newaxis] for leaf in _nest.flatten(only)]
        return _nest.pack_sequence_as(only, flat)
    return _nest.map_structure(lambda *a: np.stack(a), *nested_arrays)


def get_outer_array_shape(
    nested_array: types.NestedArray, spec: types.NestedArraySpec
) -> tuple:
    """The outer dims of an array nest: its first array's shape minus the spec's."""
    first_array = _nest.flatten(nested_array)[0]
    first_spec = _nest.flatten(spec)[0]
    array_shape = np.shape(first_array)
    num_outer = len(array_shape) - len(first_spec.shape)
    return tuple(array_shape[:num_outer])
