"""`PyUniformReplayBuffer`: a NumPy ring buffer of single items, sampled uniformly.

    buffer = PyUniformReplayBuffer(collect_data_spec, capacity=10_000)
    PyDriver(env, policy, observers=[buffer.add_batch], max_steps=1).run(...)
    dataset = buffer.as_dataset(sample_batch_size=32, num_steps=2)

For Python collection loops (a `PyDriver` with a `PyEnvironment`); items
come one at a time (a batch of 1). Thread-safe; checkpointable with
`tf.train.Checkpoint`. Subclasses may store items in another form by
overriding `_encoded_data_spec`, `_encode`, `_decode` and `_on_delete`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.replay_buffers import replay_buffer
from policylib.specs import array_spec
from policylib.typing import types
from policylib.utils import numpy_storage

__all__ = ["PyUniformReplayBuffer"]


class PyUniformReplayBuffer(replay_buffer.ReplayBuffer):
    """A thread-safe NumPy replay buffer with uniform sampling.

    Args:
      data_spec: nest of `ArraySpec`s of one item.
      capacity: the most items it holds; the oldest are overwritten.
    """

    def __init__(self, data_spec: types.NestedArraySpec, capacity: int):
        super().__init__(data_spec, capacity)
        self._storage = numpy_storage.NumpyStorage(self._encoded_data_spec(), capacity)
        self._lock = threading.Lock()
        self._np_state = numpy_storage.NumpyState()
        self._np_state.size = np.int64(0)
        self._np_state.cur_id = np.int64(0)
        self._np_state.item_count = np.int64(0)

    # Storage encoding (identity here; see PyHashedReplayBuffer).

    def _encoded_data_spec(self) -> types.NestedArraySpec:
        return self._data_spec

    def _encode(self, item: types.NestedArray) -> types.NestedArray:
        return item

    def _decode(self, item: types.NestedArray) -> types.NestedArray:
        return item

    def _on_delete(self, encoded_item: types.NestedArray) -> None:
        """Called with an item about to be overwritten."""

    @property
    def size(self) -> np.int64:
        """How many items are stored."""
        return self._np_state.size

    # ------------------------------------------------------------------------
    # ReplayBuffer hooks

    def _num_frames(self) -> int:
        return int(self._np_state.size)

    def _add_batch(self, items: types.NestedArray) -> None:
        """Adds one item, given with a batch dim of 1.

        Raises:
          ValueError: the items do not fit the spec, or the batch is not 1.
        """
        outer = nest_utils.get_outer_array_shape(items, self._data_spec)
        if tuple(outer) != (1,):
            raise ValueError(
                "PyUniformReplayBuffer takes one item at a time: a batch of "
                f"size 1, but `items` have outer shape {tuple(outer)}."
            )
        item = nest_utils.unbatch_nested_array(items)
        with self._lock:
            state = self._np_state
            if state.size == self._capacity:
                self._on_delete(self._storage.get(state.cur_id))
            self._storage.set(state.cur_id, self._encode(item))
            state.size = np.minimum(state.size + 1, self._capacity)
            state.cur_id = (state.cur_id + 1) % self._capacity
            state.item_count += 1

    # Returns the items only (no info), as TF-Agents' Python buffers do.
    def _get_next(  # type: ignore[override]
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        time_stacked: bool = True,
    ) -> types.NestedArray:
        """Uniform samples as NumPy (arrays of the spec's shape, uninitialized, if empty)."""
        if sample_batch_size is None:
            return self._sample(num_steps, time_stacked)
        return nest_utils.stack_nested_arrays(
            [self._sample(num_steps, time_stacked) for _ in range(sample_batch_size)]
        )

    def _sample(self, num_steps: int | None, time_stacked: bool) -> types.NestedArray:
        steps = 1 if num_steps is None else num_steps
        with self._lock:
            size = int(self._np_state.size)
            if size <= 0:
                run = [self._empty_item() for _ in range(steps)]
            else:
                start = np.random.randint(size - steps + 1)
                if size == self._capacity:
                    start += int(self._np_state.cur_id)  # oldest item first
                run = [
                    self._decode(self._storage.get((start + n) % self._capacity))
                    for n in range(steps)
                ]
        if num_steps is None:
            return run[0]
        return nest_utils.stack_nested_arrays(run) if time_stacked else run

    def _empty_item(self) -> types.NestedArray:
        return tf.nest.map_structure(
            lambda s: np.empty(s.shape, dtype=s.dtype), self._data_spec
        )

    def _as_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        """An endless dataset of uniform samples, made by a Python generator."""
        if num_parallel_calls is not None:
            raise NotImplementedError(
                "PyUniformReplayBuffer does not support num_parallel_calls (must be None)."
            )
        spec = self._data_spec
        if sample_batch_size is not None:
            spec = array_spec.add_outer_dims_nest(spec, (sample_batch_size,))
        if num_steps is not None:
            spec = (spec,) * num_steps
        flat = tf.nest.flatten(spec)

        def samples() -> Iterator[tuple[np.ndarray, ...]]:
            while True:
                # With num_steps: a list of T steps (each [B, ...] if batched).
                item = self._get_next(sample_batch_size, num_steps, time_stacked=False)
                yield tuple(tf.nest.flatten(item))

        dataset = tf.data.Dataset.from_generator(
            samples,
            output_signature=tuple(tf.TensorSpec(s.shape, s.dtype) for s in flat),
        ).map(lambda *leaves: tf.nest.pack_sequence_as(spec, leaves))
        if num_steps is None:
            return dataset
        time_axis = 0 if sample_batch_size is None else 1
        return dataset.map(
            lambda *steps: tf.nest.map_structure(
                lambda *leaves: tf.stack(leaves, axis=time_axis), *steps
            )
        )

    def _gather_all(self) -> types.NestedArray:
        """The stored items, oldest first, `[1, size, ...]` per leaf.

        (TF-Agents returns every row of the storage, unwritten ones too.)
        """
        with self._lock:
            size, cur = int(self._np_state.size), int(self._np_state.cur_id)
            start = cur if size == self._capacity else 0
            items = [
                self._decode(self._storage.get((start + i) % self._capacity))
                for i in range(size)
            ]
        if not items:
            return tf.nest.map_structure(
                lambda s: np.zeros((1, 0) + tuple(s.shape), s.dtype), self._data_spec
            )
        stacked = nest_utils.stack_nested_arrays(items)
        return tf.nest.map_structure(lambda t: np.expand_dims(t, 0), stacked)

    def _clear(self) -> None:
        with self._lock:
            self._np_state.size = np.int64(0)
            self._np_state.cur_id = np.int64(0)
