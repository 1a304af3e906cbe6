"""Checking an item's columns against a table's signature.

A signature is a nest of specs (`tf.TensorSpec`, or anything with `shape` and
`dtype` such as `ArraySpec`) describing the item's flattened columns, time
dimension included. A mismatch names the leaf's path and both specs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, cast

import numpy as np
import tree

__all__ = ["FlatSignature", "check_columns", "flatten_signature"]

# (path, spec, numpy dtype, shape with None for unknown dims or None for any rank)
FlatSignature = list[tuple[str, object, np.dtype, list[int | None] | None]]


def _path_name(path: Sequence[object]) -> str:
    return "/".join(str(p) for p in path) or "<root>"


class SpecLike(Protocol):
    """A `tf.TensorSpec`, an `ArraySpec`, or anything with a shape and a dtype."""

    @property
    def shape(self) -> object: ...

    @property
    def dtype(self) -> object: ...


def _spec_dtype(spec: SpecLike) -> np.dtype:
    dtype = spec.dtype
    return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))  # type: ignore[call-overload]


def _spec_shape(spec: SpecLike) -> list[int | None] | None:
    shape = spec.shape
    if getattr(shape, "rank", 0) is None:
        return None
    as_list = getattr(shape, "as_list", None)
    dims = as_list() if as_list else list(cast(Iterable[int | None], shape))
    return [None if d is None else int(d) for d in dims]


def flatten_signature(signature: object) -> FlatSignature | None:
    """The leaves of `signature` with their paths, or None for no signature."""
    if signature is None:
        return None
    return [
        (_path_name(path), spec, _spec_dtype(spec), _spec_shape(spec))
        for path, spec in tree.flatten_with_path(signature)
    ]


def _dtype_matches(expected: np.dtype, got: np.dtype) -> bool:
    if expected.kind == "O":  # tf.string
        return got.kind in "SUO"
    return expected == got


def _shape_matches(expected: list[int | None] | None, got: tuple) -> bool:
    if expected is None:
        return True
    if len(expected) != len(got):
        return False
    return all(e is None or e == g for e, g in zip(expected, got))


def check_columns(
    table: str, flat_signature: FlatSignature | None, columns: Sequence[np.ndarray]
) -> None:
    """Raises ValueError unless `columns` fit `flat_signature` leaf by leaf."""
    if flat_signature is None:
        return
    if len(columns) != len(flat_signature):
        paths = ", ".join(path for path, *_ in flat_signature)
        raise ValueError(
            f"An item for table {table!r} has {len(columns)} columns but the "
            f"table's signature has {len(flat_signature)} leaves ({paths})."
        )
    for column, (path, spec, dtype, shape) in zip(columns, flat_signature):
        # A one-step item may match step-wise (Reverb's rule for `insert`).
        step_match = column.ndim > 0 and column.shape[0] == 1
        if not (
            _dtype_matches(dtype, column.dtype)
            and (
                _shape_matches(shape, column.shape)
                or (step_match and _shape_matches(shape, column.shape[1:]))
            )
        ):
            raise ValueError(
                f"An item for table {table!r} does not match the table's "
                f"signature at {path}: got dtype={column.dtype}, "
                f"shape={tuple(column.shape)}; the signature has {spec!r}."
            )
