"""NumPy-side specs: the shape, dtype and optional bounds of arrays.

`ArraySpec` describes an array by shape and dtype; `BoundedArraySpec` adds an
inclusive `[minimum, maximum]` range. Python policies and environments declare
their inputs and outputs with these, and `tensor_spec` converts them to and
from TensorFlow's `TensorSpec`/`BoundedTensorSpec`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import gin
import numpy as np
import numpy.typing as npt

from policylib.base import nest_utils
from policylib.base.lazy_tf import nest

if TYPE_CHECKING:
    from policylib.typing import types

T = TypeVar("T")


__all__ = [
    "ArraySpec",
    "BoundedArraySpec",
    "add_outer_dims_nest",
    "assert_arrays_spec_nest",
    "check_arrays_nest",
    "is_bounded",
    "is_continuous",
    "is_discrete",
    "sample_bounded_spec",
    "sample_spec_nest",
    "update_spec_dtype",
    "update_spec_shape",
]


def _as_np_dtype(dtype: npt.DTypeLike | types.TensorSpec) -> np.dtype:
    """Accepts NumPy dtypes, Python types, strings and `tf.DType`s."""
    as_numpy = getattr(dtype, "as_numpy_dtype", None)
    if as_numpy is not None:
        return np.dtype(as_numpy)
    try:
        return np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"ArraySpec: dtype {dtype!r} is not a dtype: {e}") from None


def _as_shape(shape: Any) -> tuple:
    """A tuple of ints (or None for unknown dims); TypeError for scalars."""
    dims = getattr(shape, "dims", None)
    if dims is not None or type(shape).__name__ == "TensorShape":
        shape = shape.as_list()
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
        raise TypeError(
            f"ArraySpec: shape must be a sequence of dims, e.g. (4,) or (), got {shape!r}."
        )
    result: list[int | None] = []
    for d in shape:
        if d is None:
            result.append(None)
            continue
        if isinstance(d, (bool, float, str, bytes)) or not hasattr(d, "__index__"):
            raise TypeError(
                f"ArraySpec: shape {tuple(shape)!r} has a dim {d!r} that is not an int."
            )
        if int(d) < 0:
            raise ValueError(
                f"ArraySpec: shape {tuple(shape)!r} has a negative dim {int(d)}."
            )
        result.append(int(d))
    return tuple(result)


def _dtype_range(dtype: np.dtype) -> tuple[float, float]:
    """The smallest and largest value representable in `dtype`."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.min), int(info.max)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        return float(info.min), float(info.max)
    if dtype.kind == "b":
        return False, True
    raise TypeError(f"Cannot derive bounds for dtype {dtype}: it is not numeric.")


@gin.configurable
class ArraySpec:
    """Describes a NumPy array by its shape and dtype.

    Attributes:
      shape: a tuple of dimension sizes.
      dtype: a `np.dtype`.
      name: an optional name, ignored by equality.
    """

    __slots__ = ("_shape", "_dtype", "_name")
    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self, shape: Sequence[int], dtype: npt.DTypeLike, name: str | None = None
    ):
        self._shape = _as_shape(shape)
        self._dtype = _as_np_dtype(dtype)
        self._name = name

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def name(self) -> str | None:
        return self._name

    def __repr__(self) -> str:
        return (
            f"ArraySpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArraySpec):
            return False
        return self.shape == other.shape and self.dtype == other.dtype

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __reduce__(self):
        return ArraySpec, (self._shape, self._dtype, self._name)

    def check_array(self, array: Any) -> bool:
        """True if `array` has exactly this spec's shape and dtype."""
        if isinstance(array, np.ndarray):
            return array.shape == self._shape and array.dtype == self._dtype
        if isinstance(array, np.generic):
            return self._shape == () and array.dtype == self._dtype
        if isinstance(array, (bool, int, float, complex)):
            return self._shape == () and np.dtype(type(array)) == self._dtype
        return False

    @staticmethod
    def from_array(array: object, name: str | None = None) -> ArraySpec:
        """The spec of an array or number; ValueError for anything else."""
        if isinstance(array, (np.ndarray, np.generic)):
            return ArraySpec(array.shape, array.dtype, name)
        if isinstance(array, (bool, int, float, complex)):
            return ArraySpec((), np.dtype(type(array)), name)
        raise ValueError(
            f"ArraySpec.from_array expects a NumPy array or a number, got {type(array).__name__}: {array!r}"
        )

    @staticmethod
    def from_spec(spec: types.Spec) -> ArraySpec:
        """A plain `ArraySpec` with the shape, dtype and name of any spec."""
        return ArraySpec(spec.shape, spec.dtype, getattr(spec, "name", None))

    def replace(
        self,
        shape: Sequence[int] | None = None,
        dtype: npt.DTypeLike | None = None,
        name: str | None = None,
    ) -> ArraySpec:
        """A copy with the given fields replaced."""
        return ArraySpec(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.name if name is None else name,
        )


def _prepare_bound(
    value: npt.ArrayLike | None,
    which: str,
    shape: tuple,
    dtype: np.dtype,
    name: str | None,
) -> np.ndarray:
    """Validates one bound and returns it as a read-only array of `dtype`."""
    label = f"BoundedArraySpec {name!r}" if name else "BoundedArraySpec"
    low, high = _dtype_range(dtype)
    if value is None:
        bound = np.array(low if which == "minimum" else high, dtype=dtype)
    else:
        raw = np.asarray(value)
        if raw.dtype.kind not in "iufb":
            raise TypeError(
                f"{label}: {which} must be a number or an array of numbers, got {value!r}."
            )
        try:
            np.broadcast_to(raw, shape)
        except ValueError:
            raise ValueError(
                f"{label}: {which} {raw.tolist()!r} with shape {raw.shape} is not compatible "
                f"with the spec shape {shape}."
            ) from None
        if dtype.kind == "f":
            work = raw.astype(np.float64)
            work = np.where(np.isposinf(work), high, work)
            work = np.where(np.isneginf(work), low, work)
            if np.isnan(work).any():
                raise ValueError(f"{label}: {which} contains NaN: {raw.tolist()!r}.")
        else:
            work = raw
            if raw.dtype.kind == "f" and not np.isfinite(raw).all():
                raise ValueError(
                    f"{label}: {which} {raw.tolist()!r} is not finite, but dtype {dtype} is integral."
                )
        if raw.dtype.kind in "iufb" and (np.any(work < low) or np.any(work > high)):
            raise ValueError(
                f"{label}: {which} {raw.tolist()!r} lies outside the range of dtype "
                f"{dtype} [{low}, {high}]."
            )
        bound = np.array(work, dtype=dtype)
    bound.flags.writeable = False
    return bound


@gin.configurable
class BoundedArraySpec(ArraySpec):
    """An `ArraySpec` whose values lie in the inclusive range [minimum, maximum].

    Bounds broadcast against the shape. A missing bound defaults to the dtype's
    extreme, and for floats an infinite bound is replaced by the largest finite
    value, so samplers never see infinities.
    """

    __slots__ = ("_minimum", "_maximum")

    def __init__(
        self,
        shape: Sequence[int],
        dtype: npt.DTypeLike,
        minimum: npt.ArrayLike | None = None,
        maximum: npt.ArrayLike | None = None,
        name: str | None = None,
    ):
        super().__init__(shape, dtype, name)
        self._minimum = _prepare_bound(
            minimum, "minimum", self._shape, self._dtype, name
        )
        self._maximum = _prepare_bound(
            maximum, "maximum", self._shape, self._dtype, name
        )
        if np.any(self._minimum > self._maximum):
            label = f"BoundedArraySpec {name!r}" if name else "BoundedArraySpec"
            raise ValueError(
                f"{label}: min has values greater than max: minimum={self._minimum.tolist()!r}, "
                f"maximum={self._maximum.tolist()!r}."
            )

    @classmethod
    def from_spec(cls, spec: types.Spec, name: str | None = None) -> BoundedArraySpec:
        """A bounded copy of `spec`; unbounded specs get the dtype's range."""
        if name is None:
            name = getattr(spec, "name", None)
        minimum = getattr(spec, "minimum", None)
        maximum = getattr(spec, "maximum", None)
        return cls(spec.shape, spec.dtype, minimum, maximum, name)

    @property
    def minimum(self) -> np.ndarray:
        return self._minimum

    @property
    def maximum(self) -> np.ndarray:
        return self._maximum

    @property
    def num_values(self) -> int | np.ndarray | None:
        """How many values each element can take (integer dtypes only)."""
        if not is_discrete(self):
            return None
        # Object arithmetic: max - min + 1 overflows for full-range int64 specs.
        counts = (
            np.asarray(self._maximum, dtype=object)
            - np.asarray(self._minimum, dtype=object)
            + 1
        )
        if not self._shape:
            return int(counts)
        counts = np.broadcast_to(counts, self._shape)
        try:
            return counts.astype(np.int64)
        except OverflowError:
            return counts

    def __repr__(self) -> str:
        return (
            f"BoundedArraySpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r}, "
            f"minimum={self._minimum}, maximum={self._maximum})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoundedArraySpec):
            return False
        return (
            ArraySpec.__eq__(self, other)
            and bool(np.all(self._minimum == other._minimum))
            and bool(np.all(self._maximum == other._maximum))
        )

    def __reduce__(self):
        return BoundedArraySpec, (
            self._shape,
            self._dtype,
            self._minimum,
            self._maximum,
            self._name,
        )

    def check_array(self, array: Any) -> bool:
        """True if `array` matches shape and dtype and lies within the bounds."""
        return (
            super().check_array(array)
            and bool(np.all(array >= self._minimum))
            and bool(np.all(array <= self._maximum))
        )

    def replace(  # type: ignore[override]  # TF-Agents' order: bounds before name
        self,
        shape: Sequence[int] | None = None,
        dtype: npt.DTypeLike | None = None,
        minimum: npt.ArrayLike | None = None,
        maximum: npt.ArrayLike | None = None,
        name: str | None = None,
    ) -> BoundedArraySpec:
        """A copy with the given fields replaced."""
        return BoundedArraySpec(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self._minimum if minimum is None else minimum,
            self._maximum if maximum is None else maximum,
            self.name if name is None else name,
        )


def is_bounded(spec: object) -> bool:
    return isinstance(spec, BoundedArraySpec)


def is_discrete(spec: types.Spec) -> bool:
    return np.issubdtype(_as_np_dtype(spec.dtype), np.integer)


def is_continuous(spec: types.Spec) -> bool:
    return np.issubdtype(_as_np_dtype(spec.dtype), np.floating)


def sample_bounded_spec(
    spec: BoundedArraySpec, rng: np.random.RandomState, outer_dims: Sequence[int] = ()
) -> np.ndarray:
    """Draws a uniform sample of `spec`, with `outer_dims` prepended to its shape.

    Integers are drawn from the inclusive range, floats from [minimum, maximum).
    """
    if not isinstance(spec, BoundedArraySpec):
        raise TypeError(
            f"sample_bounded_spec needs a BoundedArraySpec, got {spec!r}; "
            "convert it with BoundedArraySpec.from_spec."
        )
    shape = tuple(outer_dims) + spec.shape
    dtype = spec.dtype
    low, high = spec.minimum, spec.maximum
    if dtype.kind == "f":
        low64 = low.astype(np.float64)
        high64 = high.astype(np.float64)
        with np.errstate(over="ignore"):
            span = high64 - low64
        if not np.all(np.isfinite(span)):
            # The range overflows float64: sample half of it and scale back.
            return (2.0 * rng.uniform(low64 / 2.0, high64 / 2.0, size=shape)).astype(
                dtype
            )
        return rng.uniform(low64, high64, size=shape).astype(dtype)
    if dtype.kind in "iu":
        if low.ndim == 0 and high.ndim == 0:
            return rng.randint(int(low), int(high) + 1, size=shape, dtype=dtype)
        high_exclusive = np.asarray(high, dtype=object) + 1
        return rng.randint(low.astype(object), high_exclusive, size=shape, dtype=dtype)
    if dtype.kind == "b":
        return rng.randint(0, 2, size=shape).astype(bool)
    raise TypeError(f"Cannot sample spec {spec!r}: dtype {dtype} is not numeric.")


def sample_spec_nest(
    structure: types.NestedArraySpec,
    rng: np.random.RandomState,
    outer_dims: Sequence[int] = (),
) -> Any:
    """Samples every spec in a nest; unbounded specs use their dtype's range."""
    outer_dims = tuple(outer_dims)

    def _sample(spec: object) -> np.ndarray:
        if not isinstance(spec, ArraySpec):
            raise TypeError(f"sample_spec_nest expects ArraySpecs, got {spec!r}.")
        if not isinstance(spec, BoundedArraySpec):
            spec = BoundedArraySpec.from_spec(spec)
        return sample_bounded_spec(spec, rng, outer_dims)

    return nest.map_structure(_sample, structure)


def assert_arrays_spec_nest(
    arrays: types.NestedArray, spec: types.NestedArraySpec
) -> None:
    """Raises unless `arrays` matches the nest `spec` leaf by leaf.

    Raises:
      TypeError: a leaf of `spec` is not an `ArraySpec`.
      ValueError: the structures differ or an array does not match its spec;
        the message names the path, the spec and the array.
    """
    nest.assert_same_structure(arrays, spec)
    flat_specs = nest.flatten(spec)
    for index, (leaf_spec, array) in enumerate(zip(flat_specs, nest.flatten(arrays))):
        if isinstance(leaf_spec, ArraySpec) and leaf_spec.check_array(array):
            continue
        path = nest_utils.flatten_with_joined_paths(spec)[index][0] or "<root>"
        if not isinstance(leaf_spec, ArraySpec):
            raise TypeError(f"At '{path}': {leaf_spec!r} is not an ArraySpec.")
        raise ValueError(
            f"At '{path}': expected a value matching {leaf_spec!r}, got "
            f"{_describe_mismatch(leaf_spec, array)}."
        )


def _describe_mismatch(spec: ArraySpec, array: object) -> str:
    """What is wrong with `array` for `spec`: its type, shape, dtype or values."""
    if not isinstance(array, (np.ndarray, np.generic, bool, int, float, complex)):
        return f"{type(array).__name__} {array!r}"
    value = np.asarray(array)
    if value.shape != spec.shape or value.dtype != spec.dtype:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"values {value.tolist()!r} outside the bounds"


def check_arrays_nest(arrays: types.NestedArray, spec: types.NestedArraySpec) -> bool:
    """True if `arrays` matches the nest `spec` (see `assert_arrays_spec_nest`)."""
    try:
        assert_arrays_spec_nest(arrays, spec)
    except (TypeError, ValueError):
        return False
    return True


def add_outer_dims_nest(structure: T, outer_dims: Sequence[int]) -> T:
    """Prepends `outer_dims` to the shape of every spec, keeping bounds."""
    outer_dims = tuple(outer_dims)
    return nest.map_structure(
        lambda s: s.replace(shape=outer_dims + s.shape), structure
    )


def update_spec_shape(spec: T, shape: Sequence[int]) -> T:
    """A copy of every spec in the nest with its shape replaced by `shape`."""
    return nest.map_structure(lambda s: s.replace(shape=shape), spec)


def update_spec_dtype(spec: T, dtype: npt.DTypeLike) -> T:
    """A copy of every spec in the nest with its dtype replaced by `dtype`."""
    return nest.map_structure(lambda s: s.replace(dtype=dtype), spec)
