"""`EpisodicReplayBuffer`: whole episodes of any length, sampled as episodes or runs.

    buffer = EpisodicReplayBuffer(data_spec, capacity=1000)
    ids = buffer.create_episode_ids(num_episodes=env.batch_size)
    ids = buffer.add_batch(trajectory, ids)           # one frame per environment
    dataset = buffer.as_dataset(num_steps=10, sample_batch_size=32)

Each episode has an id (0, 1, 2, ...) and lives in row `id % capacity`: a new
episode overwrites the oldest. Writers keep the ids `add_batch` and
`add_sequence` return and pass them back; an id of -1 (from
`create_episode_ids`), or a frame where `begin_episode_fn` holds (a FIRST step
by default), starts a new episode, and `end_episode_fn` (a LAST step) marks it
complete. Frames for an id whose row was taken over by a newer episode are
dropped, so a slow writer never corrupts a newer episode.

`StatefulEpisodicReplayBuffer` keeps the ids in a variable, for drivers that
call `add_batch(items)` as an observer.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import gin
import tensorflow as tf

from policylib.replay_buffers import episodic_reading, episodic_table, replay_buffer
from policylib.typing import types
from policylib.utils import common

__all__ = [
    "BufferInfo",
    "EpisodicReplayBuffer",
    "Episodes",
    "StatefulEpisodicReplayBuffer",
]

_INVALID_EPISODE_ID = -1

Episodes = collections.namedtuple("Episodes", ["length", "completed", "tensor_lists"])
BufferInfo = episodic_reading.BufferInfo


def _trajectory_test(
    method: str, role: str
) -> Callable[[types.NestedTensor], types.Bool]:
    """`t.<method>()`, with a TypeError for items that are not trajectories."""

    def test(t: types.NestedTensor) -> types.Bool:
        fn = getattr(t, method, None)
        if not callable(fn):
            raise TypeError(
                f"Argument t is not a Trajectory; did you forget to pass the proper "
                f"{role} to EpisodicReplayBuffer?  Saw: '{t}'"
            )
        return fn()

    return test


@gin.configurable
class EpisodicReplayBuffer(
    episodic_reading.EpisodicReading, replay_buffer.ReplayBuffer
):
    """A replay buffer of whole episodes (see the module docstring).

    Args:
      data_spec: nest of `TensorSpec`s of one frame (usually a `Trajectory`).
      capacity: the number of episodes kept.
      completed_only: sample and gather only episodes that have ended.
      buffer_size: episode ids drawn per dataset step (times the batch size).
      name_prefix: prefix of the storage names.
      device: where the variables and ops live.
      seed: op seed of the sampling.
      begin_episode_fn: `fn(items) -> bool` (batched: `[B]`): a new episode
        starts here (default: `items.is_first()`).
      end_episode_fn: `fn(items) -> bool`: the episode ends here (default:
        `items.is_last()`).
      dataset_drop_remainder: with `single_deterministic_pass`, drop short
        final runs and batches.
      dataset_window_shift: with `single_deterministic_pass` and `num_steps`,
        the shift between runs (None: no overlap).

    Raises:
      TypeError: an episode function is not callable.
    """

    def __init__(
        self,
        data_spec: types.NestedTensorSpec,
        capacity: int = 1000,
        completed_only: bool = False,
        buffer_size: int = 8,
        name_prefix: str = "EpisodicReplayBuffer",
        device: str = "cpu:*",
        seed: int | None = None,
        begin_episode_fn: Callable[[types.NestedTensor], types.Bool] | None = None,
        end_episode_fn: Callable[[types.NestedTensor], types.Bool] | None = None,
        dataset_drop_remainder: bool = False,
        dataset_window_shift: int | None = None,
    ):
        super().__init__(data_spec, capacity, stateful_dataset=True)
        begin_episode_fn = begin_episode_fn or _trajectory_test(
            "is_first", "begin_episode_fn"
        )
        end_episode_fn = end_episode_fn or _trajectory_test("is_last", "end_episode_fn")
        for fn, name in (
            (begin_episode_fn, "begin_episode_fn"),
            (end_episode_fn, "end_episode_fn"),
        ):
            if not callable(fn):
                raise TypeError(f"{name} is not callable: {fn}")
        self._begin_episode_fn = begin_episode_fn
        self._end_episode_fn = end_episode_fn
        self._name_prefix = name_prefix
        self._device = device
        self._seed = seed
        self._completed_only = completed_only
        self._buffer_size = buffer_size
        self._dataset_window_shift = dataset_window_shift
        self._dataset_drop_remainder = dataset_drop_remainder
        self._num_writes = common.create_variable("num_writes_counter")
        with tf.device(device):
            self._data_table = episodic_table.EpisodicTable(
                data_spec, capacity, name_prefix
            )
            # Which episode id each row holds (-1: none), its length and whether it ended.
            self._episodes_loc_to_id_map = common.create_variable(
                "episodes_loc_to_id_map",
                shape=[capacity],
                initial_value=_INVALID_EPISODE_ID,
            )
            self._episode_lengths = common.create_variable(
                "episode_lengths", shape=[capacity], initial_value=0
            )
            self._episode_completed = common.create_variable(
                "episode_completed", shape=[capacity], dtype=tf.uint8, initial_value=0
            )
            self._last_episode = common.create_variable(
                "last_episode", initial_value=_INVALID_EPISODE_ID
            )
            self._add_episode_critical_section = tf.CriticalSection(name="add_episode")

    @property
    def num_writes(self) -> tf.Variable:
        """How many `add_batch` calls wrote at least one frame."""
        return self._num_writes

    @property
    def name_prefix(self) -> str:
        return self._name_prefix

    def _num_frames(self) -> tf.Tensor:
        return tf.reduce_sum(self._episode_lengths)

    # ------------------------------------------------------------------------
    # Writing

    def create_episode_ids(self, num_episodes: Any = None) -> tf.Tensor:
        """Ids for writers to start with: -1 (scalar, or `[num_episodes]`).

        Raises:
          ValueError: `num_episodes` exceeds the capacity, or is not a scalar.
        """
        invalid = tf.constant(_INVALID_EPISODE_ID, dtype=tf.int64)
        if tf.is_tensor(num_episodes):
            if num_episodes.shape.rank != 0:
                raise ValueError(
                    f"num_episodes must be a scalar, but saw shape: {num_episodes.shape}"
                )
            return tf.fill([num_episodes], invalid, name="episode_id")
        shape: tuple = ()
        if num_episodes is not None and num_episodes > 0:
            if num_episodes > self._capacity:
                raise ValueError(
                    "Buffer cannot create episode_ids when num_episodes "
                    f"{num_episodes} > capacity {self._capacity}."
                )
            shape = (num_episodes,)
        return tf.constant(
            _INVALID_EPISODE_ID, shape=shape, dtype=tf.int64, name="episode_id"
        )

    def add_sequence(
        self, items: types.NestedTensor, episode_id: tf.Tensor
    ) -> tf.Tensor:
        """Appends `[T, ...]` frames of one episode; returns its (maybe new) id.

        The frames start a new episode if the first one begins one (or the id
        is -1); if the last one ends it, the episode is marked complete.
        """
        episode_id.shape.assert_has_rank(0)
        with tf.device(self._device), tf.name_scope("add_steps"):
            items = tf.nest.map_structure(
                lambda x, spec: tf.convert_to_tensor(x, dtype=spec.dtype),
                items,
                self._data_spec,
            )
            first = tf.nest.flatten(items)[0]
            num_steps = tf.cast(
                tf.compat.dimension_value(first.shape[0]) or tf.shape(first)[0],
                tf.int64,
            )
            begin = tf.convert_to_tensor(self._begin_episode_fn(items))
            end = tf.convert_to_tensor(self._end_episode_fn(items))
            if begin.shape.rank:  # per-frame flags: the first begins, the last ends
                begin, end = begin[0], end[-1]
            new_id = self._get_episode_id(episode_id, begin, end)
            location = self._get_episode_id_location(new_id)

            def append() -> tf.Tensor:
                grow = self._increment_episode_length_locked(location, num_steps)
                write = self._data_table.append(location, items)
                with tf.control_dependencies([grow, write]):
                    return tf.identity(new_id)

            with tf.control_dependencies([new_id]):
                valid = tf.equal(self._episodes_loc_to_id_map[location], new_id)
            return tf.cond(
                valid, lambda: self._locked(append), lambda: tf.identity(new_id)
            )

    def add_batch(  # type: ignore[override]  # TF-Agents' API: writers pass their ids
        self, items: types.NestedTensor, episode_ids: tf.Tensor
    ) -> tf.Tensor:
        """Appends one frame to each of a batch of episodes; returns the updated ids.

        Args:
          items: a nest of `[B, ...]` frames.
          episode_ids: `[B]` ids from `create_episode_ids` or a previous call.
        """
        episode_ids.shape.assert_has_rank(1)
        with tf.device(self._device), tf.name_scope("add_batch"):
            ids = self._get_batch_episode_ids(
                episode_ids, self._begin_episode_fn(items), self._end_episode_fn(items)
            )
            locations = self._get_episode_id_location(ids)
            with tf.control_dependencies([locations]):
                valid = tf.equal(
                    self._episodes_loc_to_id_map.sparse_read(locations), ids
                )

            def write() -> tf.Tensor:
                keep = tf.reshape(tf.where(valid), [-1])
                kept_locations = tf.gather(locations, keep)
                frames = tf.nest.map_structure(lambda t: tf.gather(t, keep), items)
                ops = [
                    self._data_table.add(kept_locations, frames),
                    self._increment_episode_length_locked(kept_locations),
                    self._num_writes.assign_add(1),
                ]
                with tf.control_dependencies(ops):
                    return tf.identity(ids)

            return tf.cond(
                tf.reduce_any(valid), lambda: self._locked(write), lambda: episode_ids
            )

    def _add_batch(self, items: types.NestedTensor) -> tf.Operation | None:
        raise NotImplementedError(
            "EpisodicReplayBuffer.add_batch needs episode ids: add_batch(items, "
            "episode_ids), or use StatefulEpisodicReplayBuffer."
        )

    # ------------------------------------------------------------------------
    # Reading

    def gather_all(self) -> types.NestedTensor:
        """Every stored frame (completed episodes only with `completed_only`), `[1, N, ...]`.

        With no frames, `[0, ...]`.
        """
        items, _ = self._gather_all()
        return items

    def _clear(self, clear_all_variables: bool = False) -> tf.Operation:
        """Empties every episode (and resets the ids, with `clear_all_variables`)."""
        assignments = [
            self._episode_lengths.assign(tf.zeros_like(self._episode_lengths)),
            self._num_writes.assign(tf.zeros_like(self._num_writes)),
        ]
        if clear_all_variables:
            assignments.append(
                self._episode_completed.assign(tf.zeros_like(self._episode_completed))
            )
            assignments += [
                v.assign(_INVALID_EPISODE_ID * tf.ones_like(v))
                for v in (self._episodes_loc_to_id_map, self._last_episode)
            ]
        return tf.group(self._data_table.clear(), assignments, name="clear")

    # ------------------------------------------------------------------------
    # Moving episodes between buffers

    def extract(self, locations: types.Int, clear_data: bool = False) -> Episodes:
        """The episodes at `locations` (rows) as `Episodes`; emptied with `clear_data`."""
        locations = tf.cast(locations, dtype=tf.int64, name="locations")
        locations.shape.assert_has_rank(1)

        def extract_locked() -> Episodes:
            episodes = Episodes(
                length=self._episode_lengths.sparse_read(locations),
                completed=self._episode_completed.sparse_read(locations),
                tensor_lists=self._data_table.get_episode_lists(locations),
            )
            if not clear_data:
                return episodes
            with tf.control_dependencies(tf.nest.flatten(episodes)):
                cleared = [
                    self._data_table.clear_rows(locations),
                    tf.compat.v1.scatter_update(self._episode_lengths, locations, 0),
                    tf.compat.v1.scatter_update(self._episode_completed, locations, 0),
                ]
            with tf.control_dependencies(cleared):
                return tf.nest.map_structure(tf.identity, episodes)

        with tf.device(self._device), tf.name_scope("extract"):
            return self._locked(extract_locked)

    def extend_episodes(
        self, episode_ids: tf.Tensor, episode_ids_indices: types.Int, episodes: Episodes
    ) -> tf.Tensor:
        """Appends extracted `episodes` to the episodes `episode_ids[episode_ids_indices]`.

        Returns:
          `episode_ids` with new ids where episodes began.
        """
        episode_ids.shape.assert_has_rank(1)
        indices = tf.convert_to_tensor(episode_ids_indices, name="episode_ids_indices")
        indices.shape.assert_has_rank(1)

        def extend_locked(ids: tf.Tensor, all_ids: tf.Tensor) -> tf.Tensor:
            locations = self._get_episode_id_location(ids)
            valid = tf.equal(self._episodes_loc_to_id_map.sparse_read(locations), ids)
            keep = tf.reshape(tf.where(valid), [-1])
            locations = tf.gather(locations, keep)
            ops = [
                self._increment_episode_length_locked(
                    locations, tf.gather(episodes.length, keep)
                ),
                tf.compat.v1.scatter_update(
                    self._episode_completed,
                    locations,
                    tf.gather(episodes.completed, keep),
                ),
                self._data_table.extend(
                    locations,
                    tf.nest.map_structure(
                        lambda t: tf.gather(t, keep), episodes.tensor_lists
                    ),
                ),
            ]
            with tf.control_dependencies(ops):
                return tf.identity(all_ids)

        with tf.device(self._device), tf.name_scope("extend"):
            index_shape = tf.shape(indices)
            begin = tf.broadcast_to(self._begin_episode_fn(episodes), index_shape)
            columns = tf.reshape(indices, [-1, 1])
            ids_shape = tf.shape(episode_ids)
            all_ids = self._get_batch_episode_ids(
                episode_ids,
                begin_episode=tf.scatter_nd(columns, begin, ids_shape),
                mask=tf.scatter_nd(columns, tf.fill(index_shape, True), ids_shape),
            )
            ids = tf.gather(all_ids, indices)
            return self._locked(lambda: extend_locked(ids, all_ids))


class StatefulEpisodicReplayBuffer(replay_buffer.ReplayBuffer):
    """An `EpisodicReplayBuffer` that keeps its writers' episode ids in a variable.

    So `add_batch(items)` works as a driver observer.

    Args:
      replay_buffer: the `EpisodicReplayBuffer` to write to.
      num_episodes: the batch size of the writes (None: single episodes).

    Raises:
      TypeError: `replay_buffer` is not an `EpisodicReplayBuffer`.
      ValueError: `num_episodes` exceeds its capacity.
    """

    _supports_sequence_preprocess = True  # the wrapped buffer decides

    def __init__(
        self, replay_buffer: EpisodicReplayBuffer, num_episodes: int | None = None
    ):
        if not isinstance(replay_buffer, EpisodicReplayBuffer):
            raise TypeError(f"Expected an EpisodicReplayBuffer, saw {replay_buffer}")
        super().__init__(replay_buffer.data_spec, replay_buffer.capacity)
        shape: tuple = ()
        if num_episodes and num_episodes > 0:
            if num_episodes > replay_buffer.capacity:
                raise ValueError(
                    "Buffer cannot create episode_ids when num_episodes "
                    f"{num_episodes} > capacity {replay_buffer.capacity}."
                )
            shape = (num_episodes,)
        self._replay_buffer = replay_buffer
        self._episode_ids_var = common.create_variable(
            "episode_id", initial_value=_INVALID_EPISODE_ID, shape=shape
        )

    @property
    def episode_ids(self) -> tf.Variable:
        return self._episode_ids_var

    def _write(self, new_ids: tf.Tensor) -> tf.Tensor:
        with tf.control_dependencies([self._episode_ids_var.assign(new_ids)]):
            return tf.identity(new_ids)

    @common.function_in_tf1()
    def add_batch(self, items: types.NestedTensor) -> tf.Tensor:
        return self._write(
            self._replay_buffer.add_batch(
                items=items, episode_ids=self._episode_ids_var
            )
        )

    @common.function_in_tf1()
    def add_sequence(self, items: types.NestedTensor) -> tf.Tensor:
        return self._write(
            self._replay_buffer.add_sequence(
                items=items, episode_id=self._episode_ids_var
            )
        )

    @common.function_in_tf1()
    def extend_episodes(
        self, episode_ids_indices: types.Int, episodes: Episodes
    ) -> tf.Tensor:
        return self._write(
            self._replay_buffer.extend_episodes(
                episode_ids=self._episode_ids_var,
                episode_ids_indices=episode_ids_indices,
                episodes=episodes,
            )
        )

    def _get_next(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        time_stacked: bool = True,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        return self._replay_buffer.get_next(sample_batch_size, num_steps, time_stacked)

    def _as_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        return self._replay_buffer.as_dataset(
            sample_batch_size,
            num_steps,
            sequence_preprocess_fn=sequence_preprocess_fn,
            num_parallel_calls=num_parallel_calls,
        )
