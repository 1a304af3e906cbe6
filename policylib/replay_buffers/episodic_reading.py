"""Reading an `EpisodicReplayBuffer`: samples, datasets and gathering.

Whole episodes are drawn uniformly; runs of `num_steps` frames come from
episodes drawn in proportion to their length, at a uniform start, so every
frame is equally likely. A single deterministic pass reads every stored
episode once, oldest first.
"""

from __future__ import annotations

import collections

import tensorflow as tf

from policylib.replay_buffers import replay_buffer
from policylib.replay_buffers.episodic_ids import EpisodeIds, valid_range_ids
from policylib.typing import types

__all__ = ["BufferInfo", "EpisodicReading"]

BufferInfo = collections.namedtuple("BufferInfo", ["ids"])


class EpisodicReading(EpisodeIds):
    """The reading side of `EpisodicReplayBuffer` (a mixin)."""

    def _get_next(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        time_stacked: bool = True,
    ) -> tuple[types.NestedTensor, BufferInfo]:
        """One uniformly drawn episode, `[T, ...]`, and its id."""
        with tf.device(self._device), tf.name_scope("get_next"):
            episode_id = self._sample_episode_ids(shape=[], seed=self._seed)
            row = self._get_episode_id_location(episode_id)
            data = self._data_table.get_episode_values(row)
        return data, BufferInfo(ids=episode_id)

    def _as_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = tf.data.AUTOTUNE,
    ) -> tf.data.Dataset:
        """Endless samples: whole episodes, or runs of `num_steps` frames.

        Runs are drawn from episodes chosen with probability proportional to
        their length (so every frame is equally likely), at a uniform start.

        Raises:
          ValueError: `sample_batch_size` without `num_steps` (episodes differ
            in length, so they cannot be batched).
        """
        if sample_batch_size and num_steps is None:
            raise ValueError(
                "When requesting a batched dataset from EpisodicReplayBuffer, "
                "num_steps must be provided (but saw num_steps=None)."
            )
        seed_per_episode = None if self._seed is None else self._seed + 7
        draws = self._buffer_size * (sample_batch_size or 1)

        def locations(_: tf.Tensor) -> tf.Tensor:
            ids = self._sample_episode_ids(
                shape=[draws],
                weigh_by_episode_length=num_steps is not None,
                seed=self._seed,
            )
            rows = self._get_episode_id_location(ids)
            if self._completed_only:
                rows = tf.boolean_mask(
                    rows, tf.cast(self._episode_completed.sparse_read(rows), tf.bool)
                )
            return rows

        rows = tf.data.Dataset.counter().map(locations).unbatch()
        if num_steps is None:
            return rows.map(
                lambda row: (
                    self._data_table.get_episode_values(row),
                    self._episodes_loc_to_id_map.sparse_read(row),
                ),
                num_parallel_calls=num_parallel_calls,
            )
        flat_specs = tf.nest.flatten(self._data_spec)

        def lists(row: tf.Tensor) -> tuple:
            flat = tuple(tf.nest.flatten(self._data_table.get_episode_lists(row)))
            length = tf.reduce_min(
                [tf.raw_ops.TensorListLength(input_handle=t) for t in flat]
            )
            return flat, self._episodes_loc_to_id_map.sparse_read(row), length

        def run(flat: tuple, episode_id: tf.Tensor, length: tf.Tensor) -> tuple:
            start = tf.random.uniform(
                (), 0, length - num_steps + 1, dtype=tf.int32, seed=seed_per_episode
            )
            frames = [
                tf.raw_ops.TensorListGather(
                    input_handle=t,
                    indices=tf.range(start, start + num_steps),
                    element_shape=tf.constant(
                        [-1 if d is None else d for d in spec.shape.as_list()], tf.int32
                    ),
                    element_dtype=spec.dtype,
                )
                for t, spec in zip(flat, flat_specs)
            ]
            for frame, spec in zip(frames, flat_specs):
                frame.set_shape([num_steps] + spec.shape.as_list())
            return tf.nest.pack_sequence_as(self._data_spec, frames), episode_id

        dataset = (
            rows.map(lists, num_parallel_calls=num_parallel_calls)
            .filter(lambda flat, episode_id, length: length >= num_steps)
            .map(run, num_parallel_calls=num_parallel_calls)
        )
        if sample_batch_size:
            dataset = dataset.batch(sample_batch_size, drop_remainder=True)
        return dataset

    def _single_deterministic_pass_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = tf.data.AUTOTUNE,
    ) -> tf.data.Dataset:
        """Every stored episode once, oldest first: whole, or cut into runs.

        With `sample_batch_size`, episodes are dealt round-robin to that many
        streams, and each batch holds one run from each stream.
        """
        if sample_batch_size is not None and num_steps is None:
            raise ValueError(
                "When requesting a batched dataset from EpisodicReplayBuffer, "
                "num_steps must be provided (but saw num_steps=None)."
            )
        drop = self._dataset_drop_remainder
        shift = self._dataset_window_shift

        def episode_ids(_: tf.Tensor) -> tf.data.Dataset:
            low, high = valid_range_ids(self._get_last_episode_id(), self._capacity)
            return tf.data.Dataset.range(low, high)

        episodes = (
            tf.data.Dataset.range(1)
            .flat_map(episode_ids)
            .map(
                lambda i: self._data_table.get_episode_values(
                    self._get_episode_id_location(i)
                ),
                num_parallel_calls=num_parallel_calls,
            )
        )

        def runs(frames: tf.data.Dataset, drop_remainder: bool) -> tf.data.Dataset:
            return frames.window(num_steps, shift=shift).flat_map(
                lambda window: tf.data.Dataset.zip(
                    tf.nest.map_structure(
                        lambda d: d.batch(num_steps, drop_remainder=drop_remainder),
                        window,
                    )
                )
            )

        if sample_batch_size is None:
            return episodes if num_steps is None else runs(episodes.unbatch(), drop)
        streams = tf.data.Dataset.range(sample_batch_size).map(
            lambda i: runs(episodes.shard(sample_batch_size, i).unbatch(), True)
        )
        return streams.interleave(lambda stream: stream).batch(
            sample_batch_size, drop_remainder=drop
        )

    def _gather_all(self) -> tuple[types.NestedTensor, tf.Tensor]:
        """Every stored frame, oldest episode first, `[1, N, ...]`, and the frames' ids."""
        if replay_buffer._holds_lists(self._data_spec):  # noqa: SLF001
            raise ValueError(
                "Cannot perform gather; data spec contains lists and this conflicts "
                "with gathering operator. Convert any lists to tuples."
            )
        low, high = valid_range_ids(self._get_last_episode_id(), self._capacity)
        lengths = self._episode_lengths.read_value()
        if self._completed_only:
            lengths *= tf.cast(self._episode_completed, tf.int64)
        total = tf.reduce_sum(lengths)

        def frames_and_ids(episode_id: tf.Tensor) -> tuple:
            data = self._data_table.get_episode_values(
                self._get_episode_id_location(episode_id)
            )
            count = tf.shape(tf.nest.flatten(data)[0])[0]
            return tuple(tf.nest.flatten(data)), tf.fill([count], episode_id)

        def gathered() -> tuple:
            ids = tf.data.Dataset.range(low, high)
            if self._completed_only:
                ids = ids.filter(
                    lambda i: tf.cast(
                        self._episode_completed.sparse_read(
                            self._get_episode_id_location(i)
                        ),
                        tf.bool,
                    )
                )
            everything = (
                ids.map(frames_and_ids)
                .unbatch()
                .batch(10 + 2 * total)
                .map(
                    lambda flat, i: (tf.nest.pack_sequence_as(self._data_spec, flat), i)
                )
                .batch(1)
            )
            return tf.data.experimental.get_single_element(everything.take(1))

        def empty() -> tuple:  # no frames: `[0, ...]`, as TF-Agents gives
            data = tf.nest.map_structure(
                lambda s: tf.zeros([0] + s.shape.as_list(), s.dtype), self._data_spec
            )
            return data, tf.zeros([0], tf.int64)

        return tf.cond(total > 0, gathered, empty)
