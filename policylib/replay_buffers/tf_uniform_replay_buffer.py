"""`TFUniformReplayBuffer`: batched adds, uniform sampling, all in TF variables.

    buffer = TFUniformReplayBuffer(agent.collect_data_spec, batch_size=env.batch_size,
                                   max_length=100_000)
    driver = DynamicStepDriver(env, policy, observers=[buffer.add_batch])
    dataset = buffer.as_dataset(sample_batch_size=64, num_steps=2).prefetch(3)

Storage: one segment of `max_length` rows per batch entry (environment), each
a ring buffer. `add_batch` writes row `id % max_length` of every segment and
increments a shared id; sampling draws an id uniformly among those still
stored (and, for runs of `num_steps`, whose run is complete) and a segment
uniformly, so a run never crosses from one environment into another.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import gin
import numpy as np
import tensorflow as tf
from tensorflow.python.ops import resource_variable_ops

from policylib.base import nest_utils
from policylib.replay_buffers import replay_buffer, table
from policylib.specs import tensor_spec
from policylib.typing import types
from policylib.utils import common

__all__ = ["BufferInfo", "TFUniformReplayBuffer"]

# The variable class whose handle one op may increment (not a distributed one).
_PLAIN_VARIABLE = resource_variable_ops.ResourceVariable

BufferInfo = collections.namedtuple("BufferInfo", ["ids", "probabilities"])

_EMPTY = (
    "TFUniformReplayBuffer is empty. Make sure to add items before sampling the buffer."
)


@gin.configurable
class TFUniformReplayBuffer(replay_buffer.ReplayBuffer):
    """A replay buffer of `batch_size` ring segments, sampled uniformly.

    Args:
      data_spec: nest of `TensorSpec`s of one item.
      batch_size: the leading dim of every `add_batch` (e.g. environments).
      max_length: rows per segment; capacity is `batch_size * max_length`.
      scope: name scope of the variables.
      device: where the variables and ops live.
      table_fn: `table_fn(spec, capacity)` makes the storage tables.
      dataset_drop_remainder: with `single_deterministic_pass`, drop a last
        batch (or run) that is short, so shapes stay static.
      dataset_window_shift: with `single_deterministic_pass` and `num_steps`,
        the shift between runs (None: runs do not overlap).
      stateful_dataset: see `ReplayBuffer`.
    """

    def __init__(
        self,
        data_spec: types.NestedTensorSpec,
        batch_size: int,
        max_length: int = 1000,
        scope: str = "TFUniformReplayBuffer",
        device: str = "cpu:*",
        table_fn: Callable[..., table.Table] = table.Table,
        dataset_drop_remainder: bool = False,
        dataset_window_shift: int | None = None,
        stateful_dataset: bool = False,
    ):
        self._batch_size = batch_size
        self._max_length = max_length
        capacity = batch_size * max_length
        super().__init__(data_spec, capacity, stateful_dataset)
        self._id_spec = tensor_spec.TensorSpec([], dtype=tf.int64, name="id")
        self._capacity_value = np.int64(capacity)
        self._batch_offsets = tf.range(batch_size, dtype=tf.int64) * max_length
        self._scope = scope
        self._device = device
        self._table_fn = table_fn
        self._dataset_drop_remainder = dataset_drop_remainder
        self._dataset_window_shift = dataset_window_shift
        with tf.device(device), tf.name_scope(scope):
            self._capacity = tf.constant(capacity, dtype=tf.int64)
            self._data_table = table_fn(self._data_spec, self._capacity_value)
            self._id_table = table_fn(self._id_spec, self._capacity_value)
            self._last_id = common.create_variable("last_id", -1)
            self._last_id_cs = tf.CriticalSection(name="last_id")

    def variables(self) -> list[tf.Variable]:
        return (
            self._data_table.variables() + self._id_table.variables() + [self._last_id]
        )

    @property
    def device(self) -> str:
        return self._device

    @property
    def batch_size(self) -> int:
        """Rows written per `add_batch` (one per parallel environment or actor)."""
        return self._batch_size

    @property
    def table_fn(self) -> Callable[..., table.Table]:
        return self._table_fn

    @property
    def scope(self) -> str:
        return self._scope

    # ------------------------------------------------------------------------
    # ReplayBuffer hooks

    def _num_frames(self) -> tf.Tensor:
        stored = (self._get_last_id() + 1) * self._batch_size
        return tf.minimum(stored, self._capacity)

    def _add_batch(self, items: types.NestedTensor) -> tf.Operation | None:
        """Writes `items` (each leaf `[batch_size, ...]`) as the next row of every segment.

        Raises:
          ValueError: `items` does not fit the data spec, or its batch size is
            not the buffer's (names the leaf, expected and given).
        """
        self._check_batch(items)
        with tf.device(self._device), tf.name_scope(self._scope):
            id_ = self._increment_last_id()
            rows = self._batch_offsets + tf.math.mod(id_, self._max_length)
            return tf.group(
                self._id_table.write(rows, id_), self._data_table.write(rows, items)
            )

    def _check_batch(self, items: types.NestedTensor) -> None:
        nest_utils.assert_same_structure(
            items, self._data_spec, message="`items` and the buffer's `data_spec`"
        )
        for path, item, spec in _leaves_with_paths(items, self._data_spec):
            shape = tf.TensorShape(getattr(item, "shape", np.shape(item)))
            expected = tf.TensorShape([self._batch_size]).concatenate(spec.shape)
            if isinstance(item, tf.Tensor) and item.dtype != spec.dtype:
                raise ValueError(
                    f"add_batch: leaf {path!r} has dtype {item.dtype.name}, expected "
                    f"{spec.dtype.name}. Spec: {spec}"
                )
            if not expected.is_compatible_with(shape):
                raise ValueError(
                    f"add_batch: leaf {path!r} has shape {shape.as_list()}, expected "
                    f"{expected.as_list()} ([batch_size={self._batch_size}] + the "
                    f"spec's {spec.shape.as_list()}). Spec: {spec}"
                )

    def _get_next(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        time_stacked: bool = True,
    ) -> tuple[types.NestedTensor, BufferInfo]:
        with tf.device(self._device), tf.name_scope(self._scope):
            low, high = _valid_range_ids(
                self._get_last_id(), self._max_length, num_steps
            )
            shape = () if sample_batch_size is None else (sample_batch_size,)
            nonempty = tf.debugging.assert_greater(high, low, message=_EMPTY)
            with tf.control_dependencies([nonempty]):
                count = high - low
                probability = tf.where(
                    tf.equal(count, 0),
                    0.0,
                    1.0 / tf.cast(tf.maximum(count, 1) * self._batch_size, tf.float32),
                )
                ids = tf.random.uniform(shape, minval=low, maxval=high, dtype=tf.int64)
            offsets = self._max_length * tf.random.uniform(
                shape, minval=0, maxval=self._batch_size, dtype=tf.int64
            )
            if num_steps is None:
                rows = tf.math.mod(ids, self._max_length) + offsets
                data, data_ids = self._read(rows)
            elif time_stacked:
                steps = tf.range(num_steps, dtype=tf.int64)
                if sample_batch_size is not None:
                    ids, offsets = ids[:, None], offsets[:, None]
                rows = tf.math.mod(ids + steps, self._max_length) + offsets
                data, data_ids = self._read(rows)
            else:
                reads = [
                    self._read(tf.math.mod(ids + step, self._max_length) + offsets)
                    for step in range(num_steps)
                ]
                data = tuple(r[0] for r in reads)
                data_ids = tuple(r[1] for r in reads)
            info = BufferInfo(ids=data_ids, probabilities=tf.fill(shape, probability))
        return data, info

    def _read(self, rows: tf.Tensor) -> tuple[types.NestedTensor, tf.Tensor]:
        return self._data_table.read(rows), self._id_table.read(rows)

    def _as_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        """An endless dataset of uniform samples (`get_next` per element)."""
        return tf.data.Dataset.counter().map(
            lambda _: self.get_next(sample_batch_size, num_steps, time_stacked=True),
            num_parallel_calls=num_parallel_calls,
        )

    def _single_deterministic_pass_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        """Every stored item once: segment by segment (or segments side by side).

        Without `sample_batch_size`, items come segment after segment in id
        order (in runs of `num_steps` when given). With it, rows of
        `sample_batch_size` segments come side by side, time step by time
        step (runs: `[sample_batch_size, num_steps, ...]`).

        Raises:
          ValueError: `dataset_drop_remainder` would drop everything
            (`sample_batch_size > batch_size` or `num_steps > max_length`).
        """
        self._check_not_all_dropped(sample_batch_size, num_steps)
        drop = self._dataset_drop_remainder
        shift = self._dataset_window_shift

        def runs(ids: tf.data.Dataset, drop_remainder: bool) -> tf.data.Dataset:
            if num_steps is None:
                return ids
            return ids.window(num_steps, shift=shift).flat_map(
                lambda w: w.batch(num_steps, drop_remainder=drop_remainder)
            )

        def row_ids(_: tf.Tensor) -> tf.data.Dataset:
            with tf.device(self._device), tf.name_scope(self._scope):
                low, high = _valid_range_ids(self._get_last_id(), self._max_length)
                tf.debugging.assert_less(low, high, message=_EMPTY)
                frames = tf.range(low, high)
            if sample_batch_size is None:
                segment = lambda b: runs(  # noqa: E731
                    tf.data.Dataset.from_tensor_slices(b * self._max_length + frames),
                    drop,
                )
                return tf.data.Dataset.range(self._batch_size).flat_map(segment)
            side_by_side = (
                tf.data.Dataset.range(self._batch_size)
                .batch(sample_batch_size, drop_remainder=drop)
                .flat_map(
                    lambda b: tf.data.Dataset.from_tensor_slices(
                        frames[:, None] + b * self._max_length
                    )
                )
            )
            if num_steps is None:
                return side_by_side
            return runs(side_by_side, drop_remainder=True).map(tf.transpose)

        def read(id_: tf.Tensor) -> tuple[types.NestedTensor, BufferInfo]:
            with tf.device(self._device), tf.name_scope(self._scope):
                data = self._data_table.read(id_ % self._capacity)
            return data, BufferInfo(ids=id_, probabilities=())

        return (
            tf.data.Dataset.range(1)
            .flat_map(row_ids)
            .map(read, num_parallel_calls=num_parallel_calls)
        )

    def _check_not_all_dropped(
        self, sample_batch_size: int | None, num_steps: int | None
    ) -> None:
        if not self._dataset_drop_remainder:
            return
        size = tf.get_static_value(sample_batch_size)
        steps = tf.get_static_value(num_steps)
        if size is not None and size > self._batch_size:
            raise ValueError(
                f"sample_batch_size ({size}) > self.batch_size ({self._batch_size}) and "
                "dataset_drop_remainder is True. In this case, ALL data will be "
                "dropped by the deterministic dataset."
            )
        if steps is not None and steps > self._max_length:
            raise ValueError(
                f"num_steps_size ({steps}) > self.max_length ({self._max_length}) and "
                "dataset_drop_remainder is True. In this case, ALL data will be "
                "dropped by the deterministic dataset."
            )

    def _gather_all(self) -> types.NestedTensor:
        """Everything stored, `[batch_size, stored length, ...]`, oldest first."""
        with tf.device(self._device), tf.name_scope(self._scope):
            low, high = _valid_range_ids(self._get_last_id(), self._max_length)
            ids = tf.range(low, high)
            rows = (
                tf.math.mod(ids, self._max_length)[None, :]
                + self._batch_offsets[:, None]
            )
            return self._data_table.read(rows)

    def _clear(self, clear_all_variables: bool = False) -> tf.Operation | None:
        """Forgets the contents (the tables too, zeroed, with `clear_all_variables`)."""
        table_variables = self._data_table.variables() + self._id_table.variables()

        def reset() -> tf.Operation:
            assignments = [self._last_id.assign(-1)]
            if clear_all_variables:
                assignments += [v.assign(tf.zeros_like(v)) for v in table_variables]
            return tf.group(*assignments, name="clear")

        return self._last_id_cs.execute(reset)

    # ------------------------------------------------------------------------
    # The shared id
    #
    # Each `add_batch` takes the next id atomically: one `ResourceCountUpTo`
    # op, which increments under the variable's own lock and returns the value
    # before, so concurrent writers get distinct ids. TF-Agents wraps the
    # add-and-read in a `tf.CriticalSection`; that costs ~50 us of every
    # one-step collect call and of every sampled batch (a mutex op completes
    # asynchronously), and guards nothing more: the data write and readers are
    # outside it in both. Variables of a distribution strategy keep the
    # critical section.

    def _increment_last_id(self, increment: int = 1) -> tf.Tensor:
        if increment == 1 and type(self._last_id) is _PLAIN_VARIABLE:
            before = tf.raw_ops.ResourceCountUpTo(
                resource=self._last_id.handle, limit=np.iinfo(np.int64).max, T=tf.int64
            )
            return before + 1
        return self._last_id_cs.execute(
            lambda: self._last_id.assign_add(increment).value()
        )

    def _get_last_id(self) -> tf.Tensor:
        if type(self._last_id) is _PLAIN_VARIABLE:
            return self._last_id.read_value()  # one read op, under the variable's lock
        return self._last_id_cs.execute(lambda: self._last_id.value())


def _valid_range_ids(
    last_id: tf.Tensor, max_length: int, num_steps: types.Int | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """`[low, high)`: ids still stored whose run of `num_steps` is complete."""
    num_steps = tf.constant(1, tf.int64) if num_steps is None else num_steps
    num_steps = tf.cast(num_steps, tf.int64)
    high = last_id + 1 - num_steps + 1
    not_full = last_id < max_length
    low = tf.where(not_full, tf.constant(0, tf.int64), last_id + 1 - max_length)
    return low, tf.where(not_full, tf.maximum(high, 0), high)


def _leaves_with_paths(
    items: types.NestedTensor, specs: types.NestedTensorSpec
) -> list[tuple[str, tf.Tensor, tf.TensorSpec]]:
    flat_specs = nest_utils.flatten_with_joined_paths(specs)
    flat_items = tf.nest.flatten(items)
    return [(path, item, spec) for (path, spec), item in zip(flat_specs, flat_items)]
