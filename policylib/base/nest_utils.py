"""Helpers for nests of tensors, arrays and specs.

The batch helpers compare tensors against specs of *unbatched* values to decide
how many outer (batch/time) dimensions a nest carries, and add, remove, split
or stack those dimensions. Errors name the offending nest path and show the
expected spec next to what was received.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import wrapt

from policylib.base.lazy_tf import is_loaded, is_tensor, tf
from policylib.base.lazy_tf import nest as _nest

__all__ = [
    "assert_matching_dtypes_and_inner_shapes",
    "assert_same_structure",
    "assert_shallow_structure",
    "flatten_up_to",
    "map_structure_with_paths",
    "assert_tensors_matching_dtypes_and_shapes",
    "assert_value_spec",
    "assert_values_fit_specs",
    "batch_nested_array",
    "batch_nested_tensors",
    "fast_map_structure",
    "fast_map_structure_flatten",
    "flatten_and_check_shape_nested_specs",
    "flatten_multi_batched_nested_tensors",
    "flatten_with_joined_paths",
    "get_outer_array_shape",
    "get_outer_rank",
    "get_outer_shape",
    "has_tensors",
    "is_batched_nested_tensors",
    "is_nested",
    "map_structure_up_to",
    "prune_extra_keys",
    "remove_singleton_batch_spec_dim",
    "spec_shape",
    "split_nested_tensors",
    "stack_nested_arrays",
    "stack_nested_tensors",
    "tile_batch",
    "unbatch_nested_array",
    "unbatch_nested_tensors",
    "unbatch_nested_tensors_to_arrays",
    "unstack_nested_arrays",
    "unstack_nested_arrays_into_flat_items",
    "unstack_nested_tensors",
    "where",
]

is_nested = _nest.is_nested


# ----------------------------------------------------------------------------
# Structure


class _Leaf:
    """Prints as '.', so structure diagrams show only the nesting."""

    def __repr__(self) -> str:
        return "."


def _diagram(structure: Any, expand_composites: bool = False) -> Any:
    leaf = _Leaf()
    try:
        return _nest.map_structure(
            lambda _: leaf, structure, expand_composites=expand_composites
        )
    except (TypeError, ValueError):
        return structure


def assert_same_structure(
    nest1: Any,
    nest2: Any,
    check_types: bool = True,
    expand_composites: bool = False,
    allow_shallow_nest1: bool = False,
    message: str | None = None,
) -> None:
    """`tf.nest.assert_same_structure` with both structures drawn in the error.

    Args:
      nest1, nest2: the nests to compare.
      check_types: also require equal sequence types.
      expand_composites: treat composite tensors as nests of their components.
      allow_shallow_nest1: `nest1` may stop above `nest2`'s leaves.
      message: a prefix for the error message.
    """
    try:
        if allow_shallow_nest1:
            _nest.assert_shallow_structure(
                nest1,
                nest2,
                check_types=check_types,
                expand_composites=expand_composites,
            )
        else:
            _nest.assert_same_structure(
                nest1,
                nest2,
                check_types=check_types,
                expand_composites=expand_composites,
            )
    except (TypeError, ValueError) as e:
        prefix = message or "The two structures do not match"
        raise type(e)(
            f"{prefix}:\n  {_diagram(nest1, expand_composites)}\nvs.\n  "
            f"{_diagram(nest2, expand_composites)}\nValues:\n  {nest1}\nvs.\n  {nest2}.\n"
            f"Details: {e}"
        ) from e


def assert_shallow_structure(shallow: Any, deep: Any, check_types: bool = True) -> None:
    """Raises unless `shallow` is a prefix of the structure of `deep`."""
    _nest.assert_shallow_structure(shallow, deep, check_types=check_types)


def map_structure_up_to(
    shallow_structure: Any, func: Callable, *structures: Any
) -> Any:
    """Maps `func` over `structures` down to the leaves of `shallow_structure` only.

    Whatever lies below a leaf of `shallow_structure` (e.g. a Python list that
    stands for one array) is passed to `func` whole.
    """
    return _nest.map_structure_up_to(shallow_structure, func, *structures)


def flatten_with_joined_paths(structure: Any, expand_composites: bool = False) -> list:
    """`[(path, leaf), ...]` with paths like `'a/b/0'`, in `tf.nest` order."""
    return _nest.flatten_with_joined_string_paths(
        structure, expand_composites=expand_composites
    )


def flatten_up_to(shallow: Any, deep: Any) -> list:
    """The subtrees of `deep` at the leaves of `shallow`, flattened."""
    return _nest.flatten_up_to(shallow, deep)


def map_structure_with_paths(func: Callable, *structure: Any, **kwargs: Any) -> Any:
    """`tf.nest.map_structure` whose `func` also gets the joined path (`'a/0'`)."""
    return _nest.map_structure_with_paths(func, *structure, **kwargs)


def fast_map_structure_flatten(
    func: Callable, structure: Any, *flat_structure: Any, **kwargs
):
    """Maps `func` over already-flat lists and packs the result like `structure`."""
    expand_composites = kwargs.get("expand_composites", False)
    entries = zip(*flat_structure)
    return _nest.pack_sequence_as(
        structure, [func(*x) for x in entries], expand_composites=expand_composites
    )


def fast_map_structure(func: Callable, *structure: Any, **kwargs: Any) -> Any:
    """`tf.nest.map_structure` without its per-call structure checks."""
    expand_composites = kwargs.get("expand_composites", False)
    flat = [_nest.flatten(s, expand_composites=expand_composites) for s in structure]
    return _nest.pack_sequence_as(
        structure[0],
        [func(*x) for x in zip(*flat)],
        expand_composites=expand_composites,
    )


def has_tensors(*x: Any) -> bool:
    """True if any leaf of the arguments is a tensor."""
    return any(is_tensor(t) for t in _nest.flatten(x))


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _is_attrs(x: Any) -> bool:
    return getattr(type(x), "__attrs_attrs__", None) is not None


def _attr_values(x: Any) -> list:
    return [getattr(x, a.name) for a in type(x).__attrs_attrs__]


def prune_extra_keys(narrow: Any, wide: Any) -> Any:
    """Drops dict entries of `wide` whose keys do not appear in `narrow`.

    Recurses through matching containers. Where the two disagree (different
    container types, missing keys, different lengths) the `wide` sub-structure
    is returned untouched; an empty tuple in `narrow` is returned as is.
    TensorFlow's tracking wrappers count as the containers they wrap.
    """
    narrow_raw = narrow.__wrapped__ if isinstance(narrow, wrapt.ObjectProxy) else narrow
    if type(narrow_raw) is tuple and not narrow_raw:
        return narrow
    if isinstance(wide, wrapt.ObjectProxy):
        return type(wide)(prune_extra_keys(narrow, wide.__wrapped__))

    both_lists = isinstance(narrow_raw, list) and isinstance(wide, list)
    both_maps = isinstance(narrow_raw, Mapping) and isinstance(wide, Mapping)
    if type(narrow_raw) is not type(wide) and not both_lists and not both_maps:
        return wide

    if isinstance(narrow_raw, Mapping):
        if not set(wide.keys()).issuperset(narrow_raw.keys()):
            return wide
        items = [(k, prune_extra_keys(v, wide[k])) for k, v in narrow_raw.items()]
        if isinstance(wide, collections.defaultdict):
            return type(wide)(wide.default_factory, items)
        return type(wide)(items)

    if _nest.is_nested(narrow_raw):
        if _is_attrs(wide):
            values = [
                prune_extra_keys(n, w)
                for n, w in zip(_attr_values(narrow_raw), _attr_values(wide))
            ]
            return type(wide)(*values)
        if len(narrow_raw) != len(wide):
            return wide
        values = [prune_extra_keys(n, w) for n, w in zip(narrow_raw, wide)]
        if _is_namedtuple(wide):
            return type(wide)(*values)
        return type(wide)(values)

    return wide


# ----------------------------------------------------------------------------
# Shape checks


def spec_shape(t: Any) -> tf.TensorShape:
    """The shape of a spec, tensor or array as a `tf.TensorShape`."""
    shape = getattr(t, "shape", None)
    if shape is None:
        shape = getattr(t, "_shape", None)
    return tf.TensorShape(shape)


def _to_tensor(value: Any, spec: Any = None) -> Any:
    if isinstance(value, tf.TypeSpec) or is_tensor(value):
        return value
    hint = getattr(spec, "dtype", None)
    return tf.convert_to_tensor(value, dtype_hint=hint)


def _format_mismatch(structure: Any, rows: Sequence[tuple[int, Any, Any]]) -> str:
    """One line per `(leaf index, got, expected)` row, named by the leaf's path.

    Paths are only computed here, when an error is reported, so the checks
    cost nothing extra on the per-step path.
    """
    paths = [p for p, _ in flatten_with_joined_paths(structure)]
    return "\n".join(f"  {paths[i] or '<root>'}: {a} vs. {b}" for i, a, b in rows)


def _dtype_kind(dtype: Any) -> str | None:
    """'f', 'i', 'u', 'b', 'c' or 'S' (text) for a TF or NumPy dtype; None if unknown."""
    try:
        np_dtype = (
            dtype
            if isinstance(dtype, np.dtype) or not is_loaded()
            else np.dtype(tf.as_dtype(dtype).as_numpy_dtype)
        )
        np_dtype = np.dtype(np_dtype)
    except TypeError:
        try:
            np_dtype = np.dtype(dtype)
        except TypeError:
            return None
    return "S" if np_dtype.kind in "SUO" else np_dtype.kind


def _numpy_leaf_problem(value: Any, spec: Any) -> tuple[str | None, tuple | None]:
    """`_leaf_problem` in NumPy alone: for arrays against `ArraySpec`s (the
    per-step path of py policies), and for any value without TensorFlow.

    A value with a dtype needs the spec's dtype kind; every value needs the
    spec's inner shape.
    """
    dtype = getattr(value, "dtype", None)
    if dtype is not None and _dtype_kind(dtype) != _dtype_kind(spec.dtype):
        return (
            f"has dtype {np.dtype(dtype).name}; expected {np.dtype(spec.dtype).name} "
            f"for {spec}",
            None,
        )
    shape, inner = tuple(np.shape(value)), tuple(spec.shape)
    outer_rank = len(shape) - len(inner)
    if outer_rank < 0 or shape[outer_rank:] != inner:
        return (
            f"has shape {list(shape)}; expected [outer dims] + {list(inner)} for {spec}",
            None,
        )
    return None, shape[:outer_rank]


def array_fit_checker(flat_specs: Sequence[Any]) -> Callable[[Sequence[Any]], bool]:
    """A fast test that flat NumPy values plainly fit flat `ArraySpec`s.

    The returned function is True when every value is a NumPy array or scalar
    of the spec's dtype kind and inner shape, with identical outer dims (or
    none). False means "not plainly": run `assert_values_fit_specs`, which
    accepts broadcasting and other inputs or raises with the leaf named. It
    keeps the per-step cost of a py policy's input check to a few
    microseconds.
    """
    rules = [(np.dtype(s.dtype).kind, tuple(s.shape), len(s.shape)) for s in flat_specs]
    arrays = (np.ndarray, np.generic)

    def fits(values: Sequence[Any]) -> bool:
        if len(values) != len(rules):
            return False
        outer = None
        for value, (kind, inner, rank) in zip(values, rules):
            if not isinstance(value, arrays) or value.dtype.kind != kind:
                return False
            shape = value.shape
            cut = len(shape) - rank
            if cut < 0 or shape[cut:] != inner:
                return False
            if cut:
                if outer is None:
                    outer = shape[:cut]
                elif shape[:cut] != outer:
                    return False
        return True

    return fits


def _leaf_problem(
    value: Any, spec: Any
) -> tuple[str | None, tf.TensorShape | tuple | None]:
    """What is wrong with one leaf against its spec (None if nothing) and its outer shape."""
    if (
        isinstance(value, (np.ndarray, np.generic))
        and type(getattr(spec, "shape", None)) is tuple
        and isinstance(getattr(spec, "dtype", None), np.dtype)
    ):
        return _numpy_leaf_problem(value, spec)
    if value is None:
        return f"is None; expected a value for {spec}", None
    if type(value).__name__.endswith("ArraySpec") or (
        is_loaded() and isinstance(value, tf.TypeSpec)
    ):
        return None, None  # A spec standing in for a value (TF-Agents' tests do this).
    if not is_loaded():
        return _numpy_leaf_problem(value, spec)
    spec_dtype = getattr(spec, "dtype", None)
    dtype = getattr(value, "dtype", None)
    if spec_dtype is not None and dtype is not None:
        # Tensors must match exactly, as TensorFlow ops will not cast them;
        # arrays and Python values need only be of the same kind (they are
        # converted with the spec's dtype).
        exact = is_tensor(value)
        if exact:
            wrong = tf.as_dtype(dtype) != tf.as_dtype(spec_dtype)
        else:
            wrong = _dtype_kind(dtype) != _dtype_kind(spec_dtype)
        if wrong:
            name = getattr(dtype, "name", dtype)
            return (
                f"has dtype {name}; expected {tf.as_dtype(spec_dtype).name} for {spec}",
                None,
            )
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    try:
        shape = tf.TensorShape(shape)
    except (TypeError, ValueError):
        return None, None
    inner = spec_shape(spec)
    if shape.rank is None or inner.rank is None:
        return None, None
    outer_rank = shape.rank - inner.rank
    if outer_rank < 0 or not shape[outer_rank:].is_compatible_with(inner):
        return (
            f"has shape {shape.as_list()}; expected [outer dims] + {inner.as_list()} for {spec}",
            None,
        )
    return None, shape[:outer_rank]


def _dims(shape: Any) -> list:
    return shape.as_list() if hasattr(shape, "as_list") else list(shape)


def _broadcastable(a: Any, b: Any) -> bool:
    """Whether two outer shapes broadcast together (unknown dims always do)."""
    if a == b:
        return True
    for x, y in zip(reversed(_dims(a)), reversed(_dims(b))):
        if x is not None and y is not None and x != y and 1 not in (x, y):
            return False
    return True


def assert_values_fit_specs(values: Any, specs: Any, what: str) -> None:
    """Raises ValueError naming the leaf unless every leaf fits its spec.

    A leaf fits when it is not None, its dtype is the spec's (or, for arrays
    and Python values, of the same kind), its inner dims are the spec's shape,
    and its outer (batch) dims broadcast with every other leaf's (an unbatched
    step type beside a batch of observations is allowed, as in TF-Agents).
    `values` must already have `specs`' structure.

    Args:
      values: a nest of tensors, arrays or Python values.
      specs: the matching nest of `TensorSpec`s or `ArraySpec`s.
      what: how errors name the nest, e.g. `"action: time_step"`.
    """
    flat_specs = _nest.flatten(specs)
    first_outer: tuple[int, Any] | None = None
    for index, (value, spec) in enumerate(zip(_nest.flatten(values), flat_specs)):
        problem, outer = _leaf_problem(value, spec)
        if problem is None and outer:
            if first_outer is None:
                first_outer = (index, outer)
            elif not _broadcastable(outer, first_outer[1]):
                paths = [p for p, _ in flatten_with_joined_paths(specs)]
                other = what.rsplit(": ", 1)[-1] + "." + paths[first_outer[0]]
                problem = (
                    f"has outer (batch) dims {_dims(outer)}, but {other} has "
                    f"{_dims(first_outer[1])}; every leaf needs the same outer dims"
                )
        if problem is not None:
            path = flatten_with_joined_paths(specs)[index][0]
            where = f"{what}.{path}" if path else what
            raise ValueError(f"{where} {problem}.")


def assert_tensors_matching_dtypes_and_shapes(
    tensors_1: Any,
    tensors_2: Any,
    caller: Any,
    tensors_1_name: str,
    tensors_2_name: str,
) -> None:
    """Raises ValueError unless two nests agree in structure, dtypes and ranks."""
    assert_same_structure(
        tensors_1,
        tensors_2,
        message=f"{caller}: {tensors_1_name} and {tensors_2_name} do not have matching structures",
    )
    flat_1 = [_to_tensor(t) for t in _nest.flatten(tensors_1)]
    flat_2 = [_to_tensor(t) for t in _nest.flatten(tensors_2)]
    bad = [
        (i, f"{a.dtype.name}{a.shape}", f"{b.dtype.name}{b.shape}")
        for i, (a, b) in enumerate(zip(flat_1, flat_2))
        if a.dtype != b.dtype or a.shape.rank != b.shape.rank
    ]
    if bad:
        raise ValueError(
            f"{caller}: Inconsistent dtypes or shapes between {tensors_1_name} and "
            f"{tensors_2_name}:\n" + _format_mismatch(tensors_1, bad)
        )


def assert_matching_dtypes_and_inner_shapes(
    tensors_or_specs: Any,
    specs: Any,
    caller: Any,
    tensors_name: str,
    specs_name: str,
    allow_extra_fields: bool = False,
) -> None:
    """Raises ValueError unless each tensor has its spec's dtype and ends in its shape.

    Outer (batch/time) dimensions are allowed in front of each spec's shape.
    """
    if allow_extra_fields:
        tensors_or_specs = prune_extra_keys(specs, tensors_or_specs)
    assert_same_structure(
        tensors_or_specs,
        specs,
        message=f"{caller}: {tensors_name} and {specs_name} do not have matching structures",
    )
    flat_specs = _nest.flatten(specs)
    flat = [
        _to_tensor(t, s) for t, s in zip(_nest.flatten(tensors_or_specs), flat_specs)
    ]
    bad = []
    for i, (value, spec) in enumerate(zip(flat, flat_specs)):
        v_shape, s_shape = spec_shape(value), spec_shape(spec)
        ok = value.dtype == spec.dtype
        if ok and s_shape.rank not in (0, None) and v_shape.rank is not None:
            ok = s_shape.rank <= v_shape.rank and s_shape.is_compatible_with(
                v_shape[v_shape.rank - s_shape.rank :]
            )
        if not ok:
            bad.append(
                (i, f"{value.dtype.name}{v_shape}", f"{spec.dtype.name}{s_shape}")
            )
    if bad:
        raise ValueError(
            f"{caller}: Inconsistent dtypes or shapes between {tensors_name} and "
            f"{specs_name} ({tensors_name} vs. {specs_name}):\n"
            + _format_mismatch(specs, bad)
        )


def _outer_rank_info(tensors: Any, specs: Any) -> tuple[list, list, list]:
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
                + _format_mismatch(specs, unknown)
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


def _mix_error(num_outer_dims: int, specs: Any, t_shapes, s_shapes) -> ValueError:
    rows = [(i, t, s) for i, (t, s) in enumerate(zip(t_shapes, s_shapes))]
    return ValueError(
        "Received a mix of batched and unbatched Tensors, or Tensors are not compatible "
        f"with Specs. num_outer_dims: {num_outer_dims}. (tensor shape vs. spec shape)\n"
        + _format_mismatch(specs, rows)
    )


def is_batched_nested_tensors(
    tensors: Any,
    specs: Any,
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
                + _format_mismatch(specs, bad)
            )
    unbatched, discrepancies, inner_match = _classify(t_shapes, s_shapes)
    if unbatched:
        return False
    if inner_match and all(d == num_outer_dims for d in discrepancies):
        return True
    if inner_match and len(set(discrepancies)) == 1:
        return False
    raise _mix_error(num_outer_dims, specs, t_shapes, s_shapes)


def get_outer_rank(tensors: Any, specs: Any) -> int:
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


def get_outer_shape(nested_tensor: Any, spec: Any) -> tf.Tensor:
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


def flatten_and_check_shape_nested_specs(specs: Any, reference_specs: Any) -> list:
    """Flattens `specs`, checking each shape is compatible with its reference."""
    assert_same_structure(
        specs, reference_specs, message="Specs do not match the reference"
    )
    flat = _nest.flatten(specs)
    for (path, ref), spec in zip(flatten_with_joined_paths(reference_specs), flat):
        if not spec_shape(spec).is_compatible_with(spec_shape(ref)):
            raise ValueError(
                f"At '{path or '<root>'}': spec shape {spec_shape(spec)} is not compatible "
                f"with {spec_shape(ref)}."
            )
    return flat


# ----------------------------------------------------------------------------
# Batching tensors


def _expand_dims0(t: Any) -> Any:
    if isinstance(t, tf.SparseTensor):
        return tf.sparse.expand_dims(t, 0)
    return tf.expand_dims(t, 0)


def _squeeze0(t: Any) -> Any:
    if isinstance(t, tf.SparseTensor):
        return tf.sparse.reshape(t, tf.shape(t, out_type=tf.int64)[1:])
    return tf.squeeze(t, axis=[0])


def batch_nested_tensors(tensors: Any, specs: Any = None) -> Any:
    """Adds a batch dim of size 1 unless `tensors` are already batched over `specs`."""
    if specs is None:
        return _nest.map_structure(_expand_dims0, tensors)
    if is_batched_nested_tensors(tensors, specs, check_dtypes=False):
        return tensors
    return _nest.map_structure(_expand_dims0, tensors)


def unbatch_nested_tensors(tensors: Any, specs: Any = None) -> Any:
    """Removes a size-1 batch dim unless `tensors` are already unbatched."""
    if specs is None:
        return _nest.map_structure(_squeeze0, tensors)
    if not is_batched_nested_tensors(tensors, specs, check_dtypes=False):
        return tensors
    return _nest.map_structure(_squeeze0, tensors)


def split_nested_tensors(tensors: Any, specs: Any, num_or_size_splits: Any) -> list:
    """Splits every tensor along the batch axis; returns a list of nests."""
    assert_same_structure(
        tensors, specs, message="Tensors and specs do not have matching structures"
    )

    def _split(t: Any) -> list:
        if isinstance(t, tf.SparseTensor):
            if not isinstance(num_or_size_splits, int):
                raise ValueError("Sparse tensors can only be split into equal parts.")
            return tf.sparse.split(sp_input=t, num_split=num_or_size_splits, axis=0)
        return tf.split(t, num_or_size_splits)

    pieces = [_split(t) for t in _nest.flatten(tensors)]
    return [_nest.pack_sequence_as(tensors, list(parts)) for parts in zip(*pieces)]


def unstack_nested_tensors(tensors: Any, specs: Any) -> list:
    """Unstacks every tensor along the batch axis; returns a list of nests."""
    assert_same_structure(
        tensors, specs, message="Tensors and specs do not have matching structures"
    )
    pieces = [tf.unstack(t) for t in _nest.flatten(tensors)]
    return [_nest.pack_sequence_as(tensors, list(parts)) for parts in zip(*pieces)]


def stack_nested_tensors(tensors: Sequence[Any], axis: int = 0) -> Any:
    """Stacks a list of identically structured nests along `axis`."""
    return _nest.map_structure(lambda *ts: tf.stack(ts, axis=axis), *tensors)


def flatten_multi_batched_nested_tensors(
    tensors: Any, specs: Any
) -> tuple[Any, tf.Tensor]:
    """Merges all outer dims into one; returns `(flattened, outer_dims)`."""
    outer_rank = get_outer_rank(tensors, specs)
    first = _nest.flatten(tensors)[0]
    outer_shape = tf.shape(first)[:outer_rank]

    def _flatten(t: Any, spec: Any) -> Any:
        inner = spec_shape(spec)
        if inner.is_fully_defined():
            new_shape: Any = [-1] + inner.as_list()
        else:
            new_shape = tf.concat([[-1], tf.shape(t)[outer_rank:]], 0)
        if isinstance(t, tf.SparseTensor):
            if not isinstance(new_shape, list):
                new_shape = tf.concat(
                    [[-1], tf.shape(t, out_type=tf.int64)[outer_rank:]], 0
                )
            return tf.sparse.reshape(t, new_shape)
        return tf.reshape(t, new_shape)

    return _nest.map_structure(_flatten, tensors, specs), outer_shape


def where(condition: Any, true_outputs: Any, false_outputs: Any) -> Any:
    """Nest-wise `tf.where`; a `[B]` condition broadcasts over higher-rank leaves.

    Raises:
      ValueError: the condition has a higher rank than some output leaf.
    """
    condition = tf.convert_to_tensor(condition)
    cond_rank = condition.shape.rank

    def _where(t: Any, f: Any) -> tf.Tensor:
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


def tile_batch(tensors: Any, multiplier: int) -> Any:
    """Repeats each batch entry `multiplier` times: `[B, ...]` -> `[B * m, ...]`.

    Entries stay grouped: rows `b * m .. b * m + m - 1` are copies of row `b`.
    """

    def _tile(t: Any) -> tf.Tensor:
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


def assert_value_spec(output_spec: Any, network_name: str) -> None:
    """Raises ValueError unless `output_spec` holds float specs of shape () or (1,)."""

    def _check(path: str, spec: Any) -> None:
        where_ = f" (at '{path}')" if path else ""
        if not isinstance(spec, tf.TensorSpec):
            raise ValueError(
                f"{network_name} emits outputs that are not tensors{where_}; spec: {output_spec}"
            )
        if spec.shape not in ((), (1,)):
            raise ValueError(
                f"{network_name} emits multiple values{where_}; spec: {output_spec}"
            )
        if not spec.dtype.is_floating:
            raise ValueError(
                f"{network_name} emits outputs that are not real numbers{where_}; spec: {output_spec}"
            )

    for path, spec in flatten_with_joined_paths(output_spec):
        _check(path, spec)


# ----------------------------------------------------------------------------
# NumPy nests


def batch_nested_array(nested_array: Any) -> Any:
    """Adds a leading dim of size 1 to every array (a view, as `np.expand_dims`)."""
    return _nest.map_structure(lambda a: np.asarray(a)[np.newaxis], nested_array)


def unbatch_nested_array(nested_array: Any) -> Any:
    """Removes a leading dim of size 1 from every array."""
    return _nest.map_structure(lambda a: np.squeeze(a, 0), nested_array)


def unbatch_nested_tensors_to_arrays(nested_tensors: Any) -> Any:
    """Converts tensors to arrays and removes their leading dim of size 1."""

    def _convert(t: Any) -> Any:
        value = t.numpy() if hasattr(t, "numpy") else np.asarray(t)
        return np.squeeze(value, 0)

    return _nest.map_structure(_convert, nested_tensors)


def unstack_nested_arrays_into_flat_items(nested_array: Any) -> list[list]:
    """One flat list of leaves per entry of the leading axis."""
    flat = _nest.flatten(nested_array)
    if not flat:
        return []
    return [list(items) for items in zip(*flat)]


def unstack_nested_arrays(nested_array: Any) -> list:
    """One nest per entry of the leading axis."""
    flat = _nest.flatten(nested_array)
    if not flat:
        return []
    if not _nest.is_nested(nested_array):
        return list(flat[0])
    return [_nest.pack_sequence_as(nested_array, list(items)) for items in zip(*flat)]


def stack_nested_arrays(nested_arrays: Sequence[Any]) -> Any:
    """Stacks a list of identically structured array nests along a new axis 0."""
    return _nest.map_structure(lambda *a: np.stack(a), *nested_arrays)


def get_outer_array_shape(nested_array: Any, spec: Any) -> tuple:
    """The outer dims of an array nest: its first array's shape minus the spec's."""
    first_array = _nest.flatten(nested_array)[0]
    first_spec = _nest.flatten(spec)[0]
    array_shape = np.shape(first_array)
    num_outer = len(array_shape) - len(first_spec.shape)
    return tuple(array_shape[:num_outer])
