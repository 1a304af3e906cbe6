"""Episode ids of an `EpisodicReplayBuffer`: numbering, rows, completion, lengths.

Episode `i` lives in row `i % capacity`. Starting an episode takes the next
id and claims its row (emptied, marked incomplete); an id whose row a newer
episode has taken is no longer valid, and writes for it are dropped. All
changes happen inside the buffer's critical section.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import tensorflow as tf

from policylib.typing import types

if TYPE_CHECKING:
    from policylib.replay_buffers import episodic_table

_T = TypeVar("_T")

__all__ = ["EMPTY", "EpisodeIds", "valid_range_ids"]

EMPTY = (
    "EpisodicReplayBuffer is empty. Make sure to add items before sampling the buffer."
)


class EpisodeIds:
    """The episode-id bookkeeping of `EpisodicReplayBuffer` (a mixin)."""

    # Set by `EpisodicReplayBuffer.__init__`.
    _capacity: types.Int
    _data_spec: types.NestedTensorSpec
    _data_table: episodic_table.EpisodicTable
    _device: str
    _seed: int | None
    _buffer_size: int
    _completed_only: bool
    _dataset_drop_remainder: bool
    _dataset_window_shift: int | None
    _episodes_loc_to_id_map: tf.Variable
    _episode_lengths: tf.Variable
    _episode_completed: tf.Variable
    _last_episode: tf.Variable
    _add_episode_critical_section: tf.CriticalSection

    def _locked(self, fn: Callable[[], _T]) -> _T:
        return self._add_episode_critical_section.execute(fn)

    def _completed_episodes(self) -> tf.Tensor:
        """The ids of the episodes marked complete."""
        return self._locked(
            lambda: tf.boolean_mask(
                self._episodes_loc_to_id_map, tf.equal(self._episode_completed, 1)
            )
        )

    def _get_episode(self, episode_id: types.Int) -> types.NestedTensor:
        """The frames of an episode; asserts that its row still holds it."""
        with tf.device(self._device), tf.name_scope("get_episode"):
            episode_id = tf.convert_to_tensor(
                episode_id, dtype=tf.int64, name="episode_id"
            )
            location = self._get_episode_id_location(episode_id)
            with tf.control_dependencies([episode_id]):
                held = self._episodes_loc_to_id_map[location]
            check = tf.Assert(
                tf.equal(held, episode_id),
                [
                    "Episode id",
                    episode_id,
                    "is not valid.  It points to location",
                    location,
                    "but the episode at that location is currently id",
                    held,
                ],
            )
            with tf.control_dependencies([check, location]):
                return self._data_table.get_episode_values(location)

    def _maybe_end_episode(
        self, episode_id: tf.Tensor, end_episode: types.Bool = False
    ) -> tf.Tensor:
        """Marks the episode complete if `end_episode` (and it is still held); returns
        whether it is complete."""
        location = self._get_episode_id_location(episode_id)

        def end() -> tf.Tensor:
            held = tf.equal(
                self._episodes_loc_to_id_map.sparse_read(location), episode_id
            )
            condition = end_episode & (episode_id >= 0) & held
            if condition.shape.rank != 0:
                raise ValueError(
                    f"Invalid condition shape: {condition.shape} (should be scalar)."
                )
            marked = tf.cond(
                condition,
                lambda: tf.group(
                    tf.compat.v1.scatter_update(self._episode_completed, [location], 1)
                ),
                tf.no_op,
            )
            with tf.control_dependencies([marked]):
                return self._episode_completed.sparse_read(location) > 0

        return self._locked(end)

    def _maybe_end_batch_episodes(
        self, batch_episode_ids: tf.Tensor, end_episode: types.Bool = False
    ) -> tf.Tensor:
        """`_maybe_end_episode` for a batch of ids."""
        locations = self._get_episode_id_location(batch_episode_ids)

        def end() -> tf.Tensor:
            held = tf.equal(
                batch_episode_ids, self._episodes_loc_to_id_map.sparse_read(locations)
            )
            mask = end_episode & (batch_episode_ids >= 0) & held
            marked = tf.compat.v1.scatter_update(
                self._episode_completed, tf.boolean_mask(locations, mask), 1
            )
            with tf.control_dependencies([marked]):
                return self._episode_completed.sparse_read(locations) > 0

        return self._locked(end)

    def _start_episodes_locked(self, new_ids: tf.Tensor) -> list:
        """Claims the rows of freshly numbered episodes: empty, incomplete, owned."""
        locations = self._get_episode_id_location(new_ids)
        return [
            tf.compat.v1.scatter_update(
                self._episodes_loc_to_id_map, locations, new_ids
            ),
            tf.compat.v1.scatter_update(self._episode_completed, locations, 0),
            self._data_table.clear_rows(tf.reshape(locations, [-1])),
            tf.compat.v1.scatter_update(self._episode_lengths, locations, 0),
        ]

    def _get_episode_id(
        self,
        episode_id: tf.Tensor,
        begin_episode: types.Bool = False,
        end_episode: types.Bool = False,
    ) -> tf.Tensor:
        """`episode_id`, or a new id if one begins (or the id is -1); marks the end."""

        def new_id() -> tf.Tensor:
            fresh = self._last_episode.assign_add(1)
            with tf.control_dependencies(self._start_episodes_locked(fresh)):
                return tf.identity(fresh)

        begin_episode = tf.convert_to_tensor(begin_episode, name="begin_episode")
        end_episode = tf.convert_to_tensor(end_episode, name="end_episode")
        condition = begin_episode | (episode_id < 0)
        if condition.shape.rank != 0:
            raise ValueError(
                f"Invalid condition predicate shape: {condition.shape} (should be scalar)."
            )
        updated = tf.cond(
            condition, lambda: self._locked(new_id), lambda: tf.identity(episode_id)
        )
        with tf.control_dependencies([self._maybe_end_episode(updated, end_episode)]):
            return tf.identity(updated)

    def _get_batch_episode_ids(
        self,
        batch_episode_ids: tf.Tensor,
        begin_episode: types.Bool = False,
        end_episode: types.Bool = False,
        mask: types.Bool | None = None,
    ) -> tf.Tensor:
        """`_get_episode_id` for a batch (only where `mask`, if given)."""
        if batch_episode_ids.shape.rank != 1:
            raise ValueError("batch_episode_ids must be a vector with 1 dimension")
        renew = (batch_episode_ids < 0) | tf.convert_to_tensor(begin_episode)
        if mask is not None:
            renew &= mask

        def update() -> tf.Tensor:
            count = tf.reduce_sum(tf.cast(renew, tf.int64))
            end = self._last_episode.assign_add(count).value() + 1
            fresh = tf.range(end - count, end)
            scattered = tf.scatter_nd(
                tf.where(renew),
                fresh,
                shape=tf.shape(batch_episode_ids, out_type=tf.int64),
            )
            updated = tf.where(renew, scattered, batch_episode_ids)
            with tf.control_dependencies(self._start_episodes_locked(fresh)):
                return tf.identity(updated)

        ids = self._locked(update)
        ended = self._maybe_end_batch_episodes(ids, tf.convert_to_tensor(end_episode))
        with tf.control_dependencies([ended]):
            return tf.identity(ids)

    def _get_episode_id_location(self, episode_id: types.Int) -> tf.Tensor:
        return tf.math.mod(episode_id, self._capacity)

    def _sample_episode_ids(
        self,
        shape: types.Shape,
        weigh_by_episode_length: bool = False,
        seed: types.Seed = None,
    ) -> tf.Tensor:
        """Stored episode ids: uniform, or in proportion to their lengths."""
        nonempty = tf.debugging.assert_non_negative(
            self._get_last_episode_id(), message=EMPTY
        )
        with tf.control_dependencies([nonempty]):
            if weigh_by_episode_length:
                count = tf.minimum(self._last_episode + 1, self._capacity)
                logits = tf.math.log(tf.cast(self._episode_lengths[:count], tf.float32))
                draws = tf.random.categorical(
                    [logits],
                    num_samples=tf.reduce_prod(shape),
                    seed=seed,
                    dtype=tf.int64,
                )
                return tf.reshape(draws, shape)
            low, high = valid_range_ids(self._get_last_episode_id(), self._capacity)
            return tf.random.uniform(
                shape, minval=low, maxval=high, dtype=tf.int64, seed=seed
            )

    def _get_last_episode_id(self) -> tf.Tensor:
        return self._locked(lambda: self._last_episode.value())

    def _increment_episode_length_locked(
        self, episode_id: types.Int, increment: types.Int = 1
    ) -> tf.Tensor:
        """Adds `increment` to the lengths of the episodes' rows; returns the new lengths.

        Raises:
          ValueError: `episode_id` has rank above 1.
        """
        location = self._get_episode_id_location(episode_id)
        rank = location.shape.rank
        if rank not in (0, 1):
            raise ValueError("episode_id must have rank <= 1")
        rows = location if rank == 1 else [location]
        lengths = tf.gather(self._episode_lengths, rows) + increment
        update = tf.compat.v1.scatter_update(self._episode_lengths, rows, lengths)
        with tf.control_dependencies([update]):
            return tf.identity(lengths if rank == 1 else lengths[0])

    def _get_valid_ids_mask_locked(self, episode_ids: tf.Tensor) -> tf.Tensor:
        held = self._episodes_loc_to_id_map.sparse_read(
            self._get_episode_id_location(episode_ids)
        )
        return (episode_ids >= 0) & tf.equal(episode_ids, held)

    def get_valid_ids_mask(self, episode_ids: tf.Tensor) -> tf.Tensor:
        """Which ids still own their rows (not -1, not overwritten)."""
        with tf.device(self._device), tf.name_scope("get_valid_ids_mask"):
            return self._locked(lambda: self._get_valid_ids_mask_locked(episode_ids))


def valid_range_ids(
    last_id: tf.Tensor, capacity: types.Int
) -> tuple[tf.Tensor, tf.Tensor]:
    """`[low, high)`: the ids of the episodes still stored."""
    high = tf.maximum(tf.cast(last_id + 1, tf.int64), 0)
    low = tf.where(last_id < capacity, tf.constant(0, tf.int64), high - capacity)
    return low, high
