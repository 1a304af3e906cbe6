"""NumPy state that `tf.train.Checkpoint` saves and restores.

Python-side metrics keep their running sums in NumPy. Putting them on a
`NumpyState` (a `tf.train.experimental.PythonState`) lets a checkpoint of the
metric include them, as TF-Agents' metrics do. `NumpyStorage` is the storage of
Python replay buffers: one NumPy array per leaf of an item's spec, saved in
checkpoints the same way. Both become TensorFlow trackables once TensorFlow is
loaded, whatever was imported first (`lazy_tf.Module`, `lazy_tf.PythonState`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from policylib.base import lazy_tf
from policylib.base.lazy_tf import nest
from policylib.specs import array_spec

if TYPE_CHECKING:
    from policylib.typing import types


__all__ = ["NumpyState", "NumpyStorage"]


class NumpyState(lazy_tf.PythonState):
    """An object whose NumPy-valued attributes are saved in checkpoints.

    Attributes are plain Python attributes; only NumPy arrays and NumPy
    scalars are saved (with their names, pickling disabled). Restoring puts
    arrays back under the same names, and NumPy scalars back as scalars.
    """

    def _numpy_attributes(self) -> dict[str, np.ndarray | np.generic]:
        return {
            k: v
            for k, v in vars(self).items()
            if isinstance(v, (np.ndarray, np.generic))
        }

    def serialize(self) -> bytes:
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {
            k: np.asarray(v) for k, v in self._numpy_attributes().items()
        }
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    def deserialize(self, string_value: bytes) -> None:
        with np.load(io.BytesIO(string_value), allow_pickle=False) as saved:
            for name in saved.files:
                value = saved[name]
                if (
                    isinstance(getattr(self, name, None), np.generic)
                    and value.ndim == 0
                ):
                    value = value[()]
                setattr(self, name, value)


class NumpyStorage(lazy_tf.Module):
    """`capacity` items of a nest of arrays, one NumPy array per leaf.

    `get(i)` returns item `i` shaped like the spec; `set(i, item)` stores one.
    Arrays are made on first use and saved by `tf.train.Checkpoint`.

    Args:
      data_spec: nest of `ArraySpec`s of one item.
      capacity: the number of items.

    Raises:
      ValueError: `data_spec` is not a nest of `ArraySpec`s.
    """

    def __init__(self, data_spec: types.NestedArraySpec, capacity: int):
        super().__init__()
        flat = nest.flatten(data_spec)
        if not all(isinstance(s, array_spec.ArraySpec) for s in flat):
            raise ValueError(
                "The data_spec parameter must be an instance or nest of "
                f"array_spec.ArraySpec. Got: {data_spec}"
            )
        self._capacity = capacity
        self._data_spec = data_spec
        self._flat_specs = flat
        self._np_state = NumpyState()
        for i in range(len(flat)):
            setattr(self._np_state, f"buffer{i}", np.int64(0))  # made on first use

    def _array(self, i: int) -> np.ndarray:
        array = getattr(self._np_state, f"buffer{i}")
        if np.ndim(array) == 0:
            spec = self._flat_specs[i]
            array = np.zeros((self._capacity,) + tuple(spec.shape), spec.dtype)
            setattr(self._np_state, f"buffer{i}", array)
        return array

    def get(self, index: types.Int) -> Any:
        """Item (or items, for an index array) at `index`."""
        return nest.pack_sequence_as(
            self._data_spec,
            [self._array(i)[index] for i in range(len(self._flat_specs))],
        )

    def set(self, index: types.Int, value: types.NestedArray) -> None:
        """Stores `value` (shaped like the spec) at `index`."""
        for i, leaf in enumerate(nest.flatten(value)):
            self._array(i)[index] = leaf
