"""`Table`: rows of nested tensors, stored in one variable per leaf.

    table = Table(spec, capacity=100)
    table.write([0, 1], batch)          # rows 0 and 1
    items = table.read([0, 1])          # the same nest, [2, ...] per leaf

Each leaf is a "slot" named after its spec (names made unique within the
table); `read` and `write` can name a subset of slots.
"""

from __future__ import annotations

import tensorflow as tf

from policylib.typing import types
from policylib.utils import common

__all__ = ["Table"]


class Table(tf.Module):
    """A fixed number of rows of a nest of tensors (not thread-safe).

    Args:
      tensor_spec: nest of `TensorSpec`s of one row.
      capacity: the number of rows.
      scope: name scope of the variables.
    """

    def __init__(
        self,
        tensor_spec: types.NestedTensorSpec,
        capacity: types.Int,
        scope: str = "Table",
    ):
        super().__init__(name=scope)
        self._tensor_spec = tensor_spec
        self._capacity = capacity
        self._slots = tf.nest.pack_sequence_as(
            tensor_spec, _unique_names(tf.nest.flatten(tensor_spec))
        )
        with self.name_scope:
            self._storage = tf.nest.map_structure(
                lambda spec, slot: common.create_variable(
                    name=slot,
                    initializer=tf.zeros(
                        [int(capacity)] + spec.shape.as_list(), spec.dtype
                    ),
                    shape=None,
                    dtype=spec.dtype,
                ),
                tensor_spec,
                self._slots,
            )
        self._storage_of = dict(
            zip(tf.nest.flatten(self._slots), tf.nest.flatten(self._storage))
        )

    @property
    def slots(self) -> types.Nested[str]:
        """The nest of slot names, shaped like the spec."""
        return self._slots

    def variables(self) -> list[tf.Variable]:
        return tf.nest.flatten(self._storage)

    def read(
        self, rows: types.Int, slots: types.Nested[str] | None = None
    ) -> types.NestedTensor:
        """The values at `rows` (a scalar: one row; a vector: a batch of rows).

        Args:
          rows: row index or indices.
          slots: a nest of slot names to read (default: all, shaped like the
            spec); the result is shaped like `slots`.
        """
        slots = slots or self._slots
        return tf.nest.map_structure(
            lambda slot: self._variable(slot).sparse_read(rows), slots
        )

    def write(
        self,
        rows: types.Int,
        values: types.NestedTensor,
        slots: types.Nested[str] | None = None,
    ) -> tf.Operation:
        """Writes `values` (shaped like `slots`, default the spec) at `rows`."""
        slots = slots or self._slots
        updates = [
            tf.compat.v1.scatter_update(self._variable(slot), rows, value).op
            for slot, value in zip(tf.nest.flatten(slots), tf.nest.flatten(values))
        ]
        return tf.group(*updates)

    def _variable(self, slot: str) -> tf.Variable:
        try:
            return self._storage_of[slot]
        except KeyError:
            raise ValueError(
                f"Table {self.name} has no slot {slot!r}; its slots are "
                f"{sorted(self._storage_of)}."
            ) from None


def _unique_names(specs: list) -> list[str]:
    """Each spec's name (or 'slot'), with `_1`, `_2` ... added to repeats."""
    seen: dict[str, int] = {}
    names = []
    for spec in specs:
        base = spec.name or "slot"
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.append(base if count == 0 else f"{base}_{count}")
    return names
