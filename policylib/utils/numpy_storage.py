"""`NumpyState`: NumPy attributes that `tf.train.Checkpoint` saves and restores.

Python-side metrics keep their running sums in NumPy. Putting them on a
`NumpyState` (a `tf.train.experimental.PythonState`) lets a checkpoint of the
metric include them, as TF-Agents' metrics do.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = ["NumpyState"]


class NumpyState(tf.train.experimental.PythonState):
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
