"""Observers that write the steps a driver collects into Reverb tables.

`ReverbAddTrajectoryObserver` writes fixed-length windows of steps,
`ReverbTrajectorySequenceObserver` does the same across episode boundaries and
`ReverbAddEpisodeObserver` writes whole episodes. Each keeps one
`TrajectoryWriter` of `client.trajectory_writer(...)` (a `policylib.reverb`
client, or anything with Reverb's client API) and is called once per
unbatched step, as `PyDriver` observers are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np
import tree

from policylib.base.lazy_tf import is_tensor, tf
from policylib.reverb import trajectory_writer
from policylib.trajectories import trajectory as trajectory_lib

__all__ = [
    "ReverbAddEpisodeObserver",
    "ReverbAddTrajectoryObserver",
    "ReverbTrajectorySequenceObserver",
]

TableNames = Union[str, Sequence[str]]


def _table_names(table_name: TableNames) -> list[str]:
    names = [table_name] if isinstance(table_name, str) else list(table_name)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(
            f"table_name must be a table name or a non-empty sequence of them, "
            f"got {table_name!r}."
        )
    return names


def _check_priority(priority: object) -> float:
    if isinstance(priority, bool) or not isinstance(
        priority, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"priority must be a number, got {priority!r}.")
    return float(priority)


def _is_boundary(trajectory: object) -> bool:
    """Whether `trajectory` (one unbatched step) is a LAST -> FIRST step."""
    method = getattr(trajectory, "is_boundary", None)
    if method is None:
        raise TypeError(
            "Reverb observers take one unbatched `Trajectory` per call, got "
            f"{type(trajectory).__name__}."
        )
    flag = np.asarray(method())
    if flag.size != 1:
        raise ValueError(
            "Reverb observers do not support batched trajectories: step_type "
            f"has shape {flag.shape}; call the observer once per step."
        )
    return bool(flag.reshape(()))


def _zeros_like(value: Any) -> Any:
    return tf.zeros_like(value) if is_tensor(value) else np.zeros_like(value)


def _padding_step(example: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
    """A LAST -> FIRST step with zeros everywhere else, shaped like `example`."""
    zeros = tree.map_structure(_zeros_like, example)
    step = trajectory_lib.boundary(
        zeros.observation,
        zeros.action,
        zeros.policy_info,
        zeros.reward,
        zeros.discount,
    )
    # Keep the step types' dtypes as the episode's (a column's dtype is fixed).
    return step._replace(
        step_type=_cast_like(step.step_type, example.step_type),
        next_step_type=_cast_like(step.next_step_type, example.next_step_type),
    )


def _cast_like(value: Any, like: Any) -> Any:
    if is_tensor(like):
        return tf.cast(value, like.dtype)
    return np.asarray(value, dtype=np.asarray(like).dtype)


def _path_name(path: Sequence[object]) -> str:
    return "/".join(str(p) for p in path) or "<root>"


def _check_step_fits(
    step: object, signature: object, table: str, sequence_length: int | None
) -> None:
    """Raises ValueError naming the first leaf of `step` its table cannot hold.

    `signature` describes items (time dimension first); `step` is one step.
    """
    if signature is None:
        return
    from policylib.reverb import signatures

    expected = signatures.flatten_signature(signature) or []
    got = tree.flatten_with_path(step)
    got_paths = [_path_name(path) for path, _ in got]
    want_paths = [path for path, *_ in expected]
    if got_paths != want_paths:
        missing = sorted(set(want_paths) - set(got_paths))
        extra = sorted(set(got_paths) - set(want_paths))
        raise ValueError(
            f"The trajectory does not fit the signature of table {table!r}: "
            f"leaves missing from the trajectory {missing}, leaves the table does "
            f"not have {extra} (the trajectory has {got_paths})."
        )
    for (_, leaf), (name, spec, dtype, shape) in zip(got, expected):
        value = np.asarray(leaf)
        dims = list(value.shape)
        fits = signatures._dtype_matches(dtype, value.dtype)
        if shape is not None:
            fits = fits and len(shape) == len(dims) + 1
            fits = fits and all(e is None or e == g for e, g in zip(shape[1:], dims))
            time = shape[0] if shape else None
            if sequence_length is not None and time is not None:
                fits = fits and time == sequence_length
        if not fits:
            steps = "" if sequence_length is None else f", {sequence_length} per item"
            raise ValueError(
                f"The trajectory does not fit the signature of table {table!r} at "
                f"{name}: a step has dtype={value.dtype}, shape={tuple(dims)}{steps}; "
                f"the signature (time dimension first) has {spec!r}."
            )


class _WriterOwner:
    """The writer, client and table names every observer keeps."""

    def __init__(
        self, py_client: Any, table_name: TableNames, num_keep_alive_refs: int
    ) -> None:
        self._table_names = _table_names(table_name)
        self._py_client = py_client
        self._num_keep_alive_refs = num_keep_alive_refs
        self._writer: Any = None
        self._checked = False
        self._history: object = None
        self._history_flat: tuple[list[Any], Callable[[list], object]] = ([], list)
        self.open()

    @property
    def py_client(self) -> Any:
        """The Reverb client the observer writes through."""
        return self._py_client

    def open(self) -> None:
        """Opens a writer unless one is open (after `close`, the observer works again)."""
        if self._writer is None:
            self._writer = self._py_client.trajectory_writer(
                num_keep_alive_refs=self._num_keep_alive_refs, validate_items=False
            )

    def _get_writer(self) -> Any:
        if self._writer is None:
            raise ValueError(
                "The observer is closed: call open() before writing through it."
            )
        return self._writer

    def get_table_signature(self) -> object:
        """The signature of the first table (all of an observer's tables share one)."""
        return self._py_client.server_info()[self._table_names[0]].signature

    def flush(self) -> None:
        """Waits until every item created so far is in its table."""
        self._get_writer().flush()

    def _check_first_step(self, step: object, sequence_length: int | None) -> None:
        """Checks the first step against the tables' signatures (policylib clients)."""
        from policylib.reverb.client import Client

        if not isinstance(self._py_client, Client):
            self._checked = True
            return  # Another client (or a mock): its tables check the items.
        infos = self._py_client.server_info()
        for table in self._table_names:
            if table not in infos:
                raise ValueError(
                    f"No table {table!r} on the Reverb server at "
                    f"{self._py_client.server_address}; its tables are "
                    f"{sorted(infos)}."
                )
            _check_step_fits(step, infos[table].signature, table, sequence_length)
        self._checked = True

    def _history_columns(self) -> tuple[list[Any], Callable[[list], object]]:
        """The writer's history columns (flat) and a builder of its structure.

        Kept while the writer's `history` is the same object (it changes when
        new columns appear), so each item costs no walk over the structure.
        """
        history = self._get_writer().history
        if self._history is not history:
            self._history = history
            self._history_flat = (
                tree.flatten(history),
                trajectory_writer.structure_builder(history),
            )
        return self._history_flat

    def _create_items(self, trajectory: object, priority: float) -> None:
        writer = self._get_writer()
        for table in self._table_names:
            writer.create_item(table=table, trajectory=trajectory, priority=priority)


class ReverbAddTrajectoryObserver(_WriterOwner):
    """Writes every window of `sequence_length` steps (every `stride_length` steps).

    Called once per unbatched step. Items never cross an episode boundary:
    when a boundary step arrives the window restarts; the steps too few to
    fill a window are dropped, or with `pad_end_of_episodes` filled with
    zero boundary steps and written.

    Args:
      py_client: the Reverb client to write through.
      table_name: the table, or tables, every item goes to.
      sequence_length: the steps in an item (>= 1).
      stride_length: steps between the starts of consecutive items (>= 1);
        1 writes every window, `sequence_length` disjoint ones.
      priority: every item's priority.
      pad_end_of_episodes: at an episode's end, append zero LAST -> FIRST
        steps and write the windows they complete.
      tile_end_of_episodes: with padding, append `sequence_length - 1` of them
        so every window that starts in the episode is written (F M L P,
        M L P P, L P P P ...); without it only enough to fill one window.

    Raises:
      ValueError: a length is < 1, the priority is not a number, or
        `tile_end_of_episodes` is set without `pad_end_of_episodes`.
    """

    def __init__(
        self,
        py_client: Any,
        table_name: TableNames,
        sequence_length: int,
        stride_length: int = 1,
        priority: Union[float, int] = 1,
        pad_end_of_episodes: bool = False,
        tile_end_of_episodes: bool = False,
    ) -> None:
        for name, value in (
            ("sequence_length", sequence_length),
            ("stride_length", stride_length),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}.")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        if tile_end_of_episodes and not pad_end_of_episodes:
            raise ValueError(
                "tile_end_of_episodes=True needs pad_end_of_episodes=True: tiling "
                "decides how many padding steps are appended."
            )
        self._sequence_length = int(sequence_length)
        self._stride_length = int(stride_length)
        self._priority = _check_priority(priority)
        self._pad_end_of_episodes = pad_end_of_episodes
        self._tile_end_of_episodes = tile_end_of_episodes
        self._cached_steps = 0
        self._last_trajectory: trajectory_lib.Trajectory | None = None
        super().__init__(py_client, table_name, self._sequence_length + 1)

    def update_priority(self, priority: Union[float, int]) -> None:
        """Sets the priority of the items written from now on."""
        self._priority = _check_priority(priority)

    def __call__(self, trajectory: trajectory_lib.Trajectory) -> None:
        """Appends one unbatched step; writes an item when a window is complete."""
        boundary = self._append(trajectory)
        if boundary:
            self.reset(write_cached_steps=self._pad_end_of_episodes)

    def _append(self, trajectory: trajectory_lib.Trajectory) -> bool:
        """Appends `trajectory`, writes a due item; returns whether it is a boundary."""
        boundary = _is_boundary(trajectory)
        if not self._checked:
            self._check_first_step(trajectory, self._sequence_length)
        self._last_trajectory = trajectory
        self._get_writer().append(trajectory)
        self._cached_steps += 1
        self._write_cached_steps()
        return boundary

    def _sequence_lengths_reached(self) -> bool:
        """Whether the latest step completes a window that is due (stride)."""
        extra = self._cached_steps - self._sequence_length
        return extra >= 0 and extra % self._stride_length == 0

    def _write_cached_steps(self) -> None:
        """Writes the window ending at the latest step, if one is due."""
        if not self._sequence_lengths_reached():
            return
        window = slice(-self._sequence_length, None)
        columns, build = self._history_columns()
        self._create_items(build([c[window] for c in columns]), self._priority)

    def reset(self, write_cached_steps: bool = True) -> None:
        """Ends the current episode's window, optionally writing what it holds.

        Drivers need not call this between episodes; the observer does at
        each boundary. With `write_cached_steps` the cached steps are padded
        (with `pad_end_of_episodes`) and written; without padding there must
        be a complete window, which the last step already wrote.

        Raises:
          ValueError: `write_cached_steps` without padding and fewer cached
            steps than `sequence_length`.
        """
        if write_cached_steps and self._last_trajectory is not None:
            if self._pad_end_of_episodes:
                padding = _padding_step(self._last_trajectory)
                if self._tile_end_of_episodes:
                    count = self._sequence_length - 1
                else:
                    count = max(0, self._sequence_length - self._cached_steps)
                writer = self._get_writer()
                for _ in range(count):
                    writer.append(padding)
                    self._cached_steps += 1
                    self._write_cached_steps()
            elif self._cached_steps < self._sequence_length:
                raise ValueError(
                    f"reset(write_cached_steps=True) found {self._cached_steps} "
                    f"cached steps, fewer than sequence_length="
                    f"{self._sequence_length}; set pad_end_of_episodes=True to "
                    "write them padded, or reset(write_cached_steps=False)."
                )
            # Else the last step already wrote its window.
        self._cached_steps = 0
        self._last_trajectory = None
        if self._writer is None:
            self.open()
        else:
            self._writer.end_episode()

    def open(self) -> None:
        """Opens a writer unless one is open."""
        if self._writer is None:
            self._cached_steps = 0
        super().open()

    def close(self) -> None:
        """Waits for the created items, then closes the writer (`open` reopens)."""
        if self._writer is not None:
            self._writer.end_episode()
            self._writer.close()
            self._writer = None


class ReverbTrajectorySequenceObserver(ReverbAddTrajectoryObserver):
    """`ReverbAddTrajectoryObserver` whose windows run across episode boundaries.

    Boundary steps do not restart the window, so items may hold a boundary
    anywhere. A driver's step count excludes boundary steps: to get exactly
    one item per `n` collected steps choose `stride_length` with that in mind.
    """

    def __call__(self, trajectory: trajectory_lib.Trajectory) -> None:
        """Appends one unbatched step; writes an item when a window is complete."""
        self._append(trajectory)


class ReverbAddEpisodeObserver(_WriterOwner):
    """Writes each whole episode (with its closing boundary step) as one item.

    Steps are cached until the boundary step ends the episode. An episode of
    more than `max_sequence_length` steps raises ValueError, or with
    `bypass_partial_episodes` is dropped (logged) so the tables only ever
    hold whole episodes. Not for batched steps.

    Args:
      py_client: the Reverb client to write through.
      table_name: the table, or tables, every episode goes to.
      max_sequence_length: the most steps an episode may have, its boundary
        step included (>= 1); also the writer's history length.
      priority: every item's priority.
      bypass_partial_episodes: drop over-long episodes instead of raising.

    Raises:
      ValueError: `max_sequence_length` < 1 or the priority is not a number.
    """

    def __init__(
        self,
        py_client: Any,
        table_name: TableNames,
        max_sequence_length: int,
        priority: Union[float, int] = 1,
        bypass_partial_episodes: bool = False,
    ) -> None:
        if isinstance(max_sequence_length, bool) or not isinstance(
            max_sequence_length, (int, np.integer)
        ):
            raise ValueError(
                f"max_sequence_length must be an integer, got {max_sequence_length!r}."
            )
        if max_sequence_length < 1:
            raise ValueError(
                f"max_sequence_length must be >= 1, got {max_sequence_length}."
            )
        self._max_sequence_length = int(max_sequence_length)
        self._priority = _check_priority(priority)
        self._bypass_partial_episodes = bypass_partial_episodes
        self._cached_steps = 0
        self._overflow_episode = False
        self._writer_has_data = False
        super().__init__(py_client, table_name, self._max_sequence_length + 1)

    def update_priority(self, priority: Union[float, int]) -> None:
        """Sets the priority of the episodes written from now on."""
        self._priority = _check_priority(priority)

    def __call__(self, trajectory: trajectory_lib.Trajectory) -> None:
        """Caches one unbatched step; at a boundary writes the episode.

        Raises:
          ValueError: the episode outgrew `max_sequence_length` and
            `bypass_partial_episodes` is False.
        """
        boundary = _is_boundary(trajectory)
        if not self._checked:
            self._check_first_step(trajectory, None)
        if (
            self._cached_steps >= self._max_sequence_length
            and not self._overflow_episode
        ):
            self._overflow_episode = True
            if not self._bypass_partial_episodes:
                raise ValueError(
                    f"An episode has more than max_sequence_length="
                    f"{self._max_sequence_length} steps (its boundary step "
                    "included); raise max_sequence_length, or set "
                    "bypass_partial_episodes=True to drop such episodes."
                )
            logging.error(
                "An episode has more than max_sequence_length=%d steps; it is "
                "dropped, not written. Raise max_sequence_length to keep such "
                "episodes.",
                self._max_sequence_length,
            )
        if self._overflow_episode:
            if boundary:
                self.reset(write_cached_steps=False)
            return
        self._get_writer().append(trajectory)
        self._writer_has_data = True
        self._cached_steps += 1
        if boundary:
            self.reset(write_cached_steps=True)

    def _write_cached_steps(self) -> None:
        """Writes the cached steps as one item per table (the cache stays)."""
        if not self._writer_has_data:
            logging.info("Nothing cached: no episode was written to Reverb.")
            return
        everything = slice(None)
        columns, build = self._history_columns()
        self._create_items(build([c[everything] for c in columns]), self._priority)
        self._writer_has_data = False

    def reset(self, write_cached_steps: bool = True) -> None:
        """Starts a new episode, first writing the cached steps if asked.

        Drivers need not call this between episodes; the observer does at
        each boundary.
        """
        if write_cached_steps:
            self._write_cached_steps()
        self._cached_steps = 0
        self._overflow_episode = False
        if self._writer is None:
            self.open()
        else:
            self._writer.end_episode()

    def close(self) -> None:
        """Waits for the created items, then closes the writer (`open` reopens)."""
        if self._writer is not None:
            self._writer.end_episode()
            self._writer.close()
            self._writer = None
            self._writer_has_data = False
