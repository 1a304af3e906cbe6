"""Checks that a nest of values (tensors, arrays, Python values) fits a nest of specs.

Errors name the offending leaf by its nest path and show the expected spec next
to what was received; the NumPy path (`array_fit_checker`, arrays against
`ArraySpec`s) runs without TensorFlow. Re-exported by `nest_utils`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from policylib.base.lazy_tf import is_loaded, is_tensor, tf
from policylib.base.lazy_tf import nest as _nest
from policylib.base.nest_structure import (
    assert_same_structure,
    flatten_with_joined_paths,
    prune_extra_keys,
)

if TYPE_CHECKING:
    from policylib.typing import types


def spec_shape(t: types.Tensor) -> tf.TensorShape:
    """The shape of a spec, tensor or array as a `tf.TensorShape`."""
    shape = getattr(t, "shape", None)
    if shape is None:
        shape = getattr(t, "_shape", None)
    return tf.TensorShape(shape)


def _to_tensor(
    value: types.SpecTensorOrArray | float, spec: types.Spec | None = None
) -> types.Tensor | tf.TypeSpec:
    if isinstance(value, tf.TypeSpec) or is_tensor(value):
        return value
    hint = getattr(spec, "dtype", None)
    return tf.convert_to_tensor(value, dtype_hint=hint)


def format_mismatch(
    structure: types.Nested, rows: Sequence[tuple[int, object, object]]
) -> str:
    """One line per `(leaf index, got, expected)` row, named by the leaf's path.

    Paths are only computed here, when an error is reported, so the checks
    cost nothing extra on the per-step path.
    """
    paths = [p for p, _ in flatten_with_joined_paths(structure)]
    return "\n".join(f"  {paths[i] or '<root>'}: {a} vs. {b}" for i, a, b in rows)


def _dtype_kind(dtype: npt.DTypeLike | tf.DType) -> str | None:
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


def _numpy_leaf_problem(
    value: npt.ArrayLike | types.SpecTensorOrArray, spec: types.Spec
) -> tuple[str | None, tuple | None]:
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
            f"has shape {shape}; expected (outer dims) + {inner} for {spec}",
            None,
        )
    return None, shape[:outer_rank]


def array_fit_checker(
    flat_specs: Sequence[types.ArraySpec],
) -> Callable[[Sequence[object]], bool]:
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

    def fits(values: Sequence[object]) -> bool:
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
    value: npt.ArrayLike | types.SpecTensorOrArray, spec: types.Spec
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
            f"has shape {tuple(shape.as_list())}; expected (outer dims) + "
            f"{tuple(inner.as_list())} for {spec}",
            None,
        )
    return None, shape[:outer_rank]


def _dims(shape: types.Shape) -> list:
    return shape.as_list() if hasattr(shape, "as_list") else list(shape)


def _broadcastable(a: types.Shape, b: types.Shape) -> bool:
    """Whether two outer shapes broadcast together (unknown dims always do)."""
    if a == b:
        return True
    for x, y in zip(reversed(_dims(a)), reversed(_dims(b))):
        if x is not None and y is not None and x != y and 1 not in (x, y):
            return False
    return True


def assert_values_fit_specs(
    values: types.NestedTensorOrArray, specs: types.NestedSpec, what: str
) -> None:
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
    first_outer: tuple[int, tf.TensorShape | tuple] | None = None
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
    tensors_1: types.NestedTensorOrArray,
    tensors_2: types.NestedTensorOrArray,
    caller: object,
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
            f"{tensors_2_name}:\n" + format_mismatch(tensors_1, bad)
        )


def assert_matching_dtypes_and_inner_shapes(
    tensors_or_specs: types.NestedSpecTensorOrArray,
    specs: types.NestedSpec,
    caller: object,
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
            + format_mismatch(specs, bad)
        )


def flatten_and_check_shape_nested_specs(
    specs: types.NestedSpec, reference_specs: types.NestedSpec
) -> list:
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


def assert_value_spec(output_spec: types.NestedTensorSpec, network_name: str) -> None:
    """Raises ValueError unless `output_spec` holds float specs of shape () or (1,)."""

    def _check(path: str, spec: types.TensorSpec) -> None:
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
