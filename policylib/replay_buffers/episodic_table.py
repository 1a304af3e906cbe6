"""`EpisodicTable`: rows of variable-length episodes, one TensorList per row and leaf.

    table = EpisodicTable(spec, capacity=100)
    table.add([0, 1], frames)               # one frame onto rows 0 and 1
    table.append(2, episode)                # [T, ...] frames onto row 2
    episode = table.get_episode_values(0)   # [T, ...] per leaf

Each leaf of the spec has a `DenseHashTable` from row to a TensorList of its
frames, so rows grow independently; the tables checkpoint with
`tf.train.Checkpoint`. TensorLists are used through `tf.raw_ops`.
"""

from __future__ import annotations

import tensorflow as tf

from policylib.base import nest_utils
from policylib.typing import types

__all__ = ["EpisodicTable"]


def _element_shape(spec: tf.TensorSpec) -> tf.Tensor:
    return tf.constant([-1 if d is None else d for d in spec.shape.as_list()], tf.int32)


def _empty_list(spec: tf.TensorSpec) -> tf.Tensor:
    return tf.raw_ops.EmptyTensorList(
        element_shape=_element_shape(spec),
        max_num_elements=-1,
        element_dtype=spec.dtype,
    )


class EpisodicTable(tf.Module):
    """Episodes of a nest of tensors, stored per row.

    Args:
      tensor_spec: nest of `TensorSpec`s of one frame.
      capacity: the number of rows (episodes).
      name_prefix: prefix of the hash tables' names.
    """

    def __init__(
        self,
        tensor_spec: types.NestedTensorSpec,
        capacity: int,
        name_prefix: str = "EpisodicTable",
    ):
        super().__init__()
        self._tensor_spec = tensor_spec
        self._capacity = capacity
        names: list[str] = []
        for spec in tf.nest.flatten(tensor_spec):
            base, count = spec.name or "slot", 0
            while f"{base}_{count}" in names:
                count += 1
            names.append(f"{base}_{count}")
        self._slots = tf.nest.pack_sequence_as(
            tensor_spec, [f"{name_prefix}.{n}" for n in names]
        )
        self._flat_slots = tf.nest.flatten(self._slots)
        self._flat_specs = tf.nest.flatten(tensor_spec)
        self._storage = tf.nest.map_structure(
            lambda spec, slot: tf.lookup.experimental.DenseHashTable(
                key_dtype=tf.int64,
                value_dtype=tf.variant,
                empty_key=-1,
                deleted_key=-2,
                name=slot,
                default_value=_empty_list(spec),
            ),
            tensor_spec,
            self._slots,
        )
        self._tables = tf.nest.flatten(self._storage)
        self._table_of = dict(zip(self._flat_slots, self._tables))
        self._spec_of = dict(zip(self._flat_slots, self._flat_specs))

    @property
    def slots(self) -> types.Nested[str]:
        return self._slots

    def variables(self) -> list[tf.lookup.experimental.MutableHashTable]:
        """The hash tables (one per leaf)."""
        return self._tables

    def _stack_tensor_list(self, slot: str, tensor_list: tf.Tensor) -> tf.Tensor:
        """A row's TensorList as a `[T, ...]` tensor with the spec's dtype and shape."""
        tensor_list.shape.assert_has_rank(0)
        spec = self._spec_of[slot]
        value = tf.raw_ops.TensorListStack(
            input_handle=tensor_list,
            element_shape=_element_shape(spec),
            element_dtype=spec.dtype,
        )
        value.set_shape([None] + spec.shape.as_list())
        return value

    def get_episode_lists(self, rows: types.Int | None = None) -> types.NestedTensor:
        """The TensorLists of `rows` (default: all), shaped like the slots."""
        if rows is None:
            rows = tf.range(self._capacity, dtype=tf.int64)
        rows = tf.convert_to_tensor(rows, dtype=tf.int64)
        return tf.nest.pack_sequence_as(
            self._slots, [table.lookup(rows) for table in self._tables]
        )

    def get_episode_values(self, row: types.Int) -> types.NestedTensor:
        """The frames of one row, `[T, ...]` per leaf (T may be 0)."""
        row = tf.convert_to_tensor(row, dtype=tf.int64)
        row.shape.assert_has_rank(0)
        return tf.nest.map_structure(
            self._stack_tensor_list, self._slots, self.get_episode_lists(row)
        )

    def append(self, row: types.Int, values: types.NestedTensor) -> tf.Operation:
        """Appends `[T, ...]` frames (a nest like the spec) to one row."""
        row = tf.convert_to_tensor(row, dtype=tf.int64)
        updates = []
        for spec, table, value in zip(
            self._flat_specs, self._tables, tf.nest.flatten(values)
        ):
            appended = tf.raw_ops.TensorListFromTensor(
                tensor=tf.convert_to_tensor(value, spec.dtype),
                element_shape=_element_shape(spec),
            )
            joined = tf.raw_ops.TensorListConcatLists(
                input_a=table.lookup(row), input_b=appended, element_dtype=spec.dtype
            )
            updates.append(table.insert_or_assign(row, joined))
        return tf.group(*updates)

    def add(self, rows: types.Int, values: types.NestedTensor) -> tf.Operation:
        """Appends one frame to each of `rows` (values `[len(rows), ...]`)."""
        rows = tf.convert_to_tensor(rows, dtype=tf.int64)
        updates = []
        for table, value in zip(self._tables, tf.nest.flatten(values)):
            pushed = tf.raw_ops.TensorListPushBackBatch(
                input_handles=table.lookup(rows), tensor=value
            )
            updates.append(table.insert_or_assign(rows, pushed))
        return tf.group(*updates)

    def extend(
        self, rows: types.Int, episode_lists: types.NestedTensor
    ) -> tf.Operation:
        """Appends a batch of TensorLists (shaped like the slots) to `rows`."""
        nest_utils.assert_same_structure(self._slots, episode_lists)
        rows = tf.convert_to_tensor(rows, dtype=tf.int64)
        existing = tf.nest.flatten(self.get_episode_lists(rows))
        updates = []
        for spec, table, old, new in zip(
            self._flat_specs, self._tables, existing, tf.nest.flatten(episode_lists)
        ):
            joined = tf.raw_ops.TensorListConcatLists(
                input_a=old, input_b=new, element_dtype=spec.dtype
            )
            updates.append(table.insert_or_assign(rows, joined))
        return tf.group(*updates)

    def clear(self) -> tf.Operation:
        """Removes every episode."""
        rows = tf.range(self._capacity, dtype=tf.int64)
        return tf.group(*[table.erase(rows) for table in self._tables])

    def clear_rows(self, rows: types.Int) -> tf.Operation:
        """Empties the given rows."""
        rows = tf.convert_to_tensor(rows, dtype=tf.int64)
        return tf.group(
            *[
                table.insert_or_assign(
                    rows, tf.fill([tf.size(rows)], _empty_list(spec))
                )
                for spec, table in zip(self._flat_specs, self._tables)
            ]
        )
