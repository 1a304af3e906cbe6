"""`TrajectoryWriter`: append steps, then make items from slices of their history.

    with client.trajectory_writer(num_keep_alive_refs=3) as writer:
        for step in steps:
            writer.append({"obs": step.obs, "reward": step.reward})
            if writer.episode_steps >= 3:
                writer.create_item("table", priority=1.0, trajectory={
                    "obs": writer.history["obs"][-3:],
                    "reward": writer.history["reward"][-2:],
                })
        writer.end_episode()

Each leaf of the appended data is a column; each column keeps references to its
last `num_keep_alive_refs` values. `create_item` stacks the referenced values
into the item's columns and hands the item to a sender: with the server in
this process it goes in at once when the table lets it; otherwise a background
thread sends the queued items, in batches where the transport has
`insert_batch` (one round trip per batch to a remote server), waiting on the
tables' rate limiters, so `create_item` never blocks. `flush` and
`end_episode` wait until the items are in their tables; an error of the
sender is raised by the writer's next call.

Per step the cost is kept small: a structure seen before is flattened by
dm-tree's C code and rebuilt by a compiled builder (`structure_builder`), and a
column of a few steps is stacked with one `np.array` call.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import tree

from policylib.reverb import errors, signatures
from policylib.reverb.items import Item
from policylib.reverb.keys import new_key
from policylib.reverb.trajectory_columns import (
    CellRef,
    TrajectoryColumn,
    _ColumnHistory,
)

if TYPE_CHECKING:
    from policylib.reverb.service import Transport

__all__ = ["CellRef", "TrajectoryColumn", "TrajectoryWriter", "structure_builder"]

# How long the sender waits on a table before it checks whether it was closed.
_SEND_POLL_S = 0.25
# The most queued items the sender hands to `Transport.insert_batch` at once.
_MAX_BATCH = 512


class _Sender:
    """Gets created items into their tables, in order, without blocking the writer.

    With the server in this process an item goes straight into its table when
    nothing is queued before it and its rate limiter lets it in. Otherwise it
    waits in a queue that a background thread drains: in batches through the
    transport's `insert_batch` where the transport has one (one call per batch
    for a remote server), else item by item.
    """

    def __init__(self, transport: Transport) -> None:
        from policylib.reverb.service import ReplayService

        self._transport = transport
        self._local = isinstance(transport, ReplayService)
        self._insert_batch = getattr(transport, "insert_batch", None)
        self._cv = threading.Condition()
        self._queue: collections.deque[tuple[str, Item]] = collections.deque()
        self._in_flight = 0
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, table: str, item: Item) -> None:
        with self._cv:
            self._raise_error()
            if self._closed:
                raise RuntimeError("The TrajectoryWriter is closed.")
            idle = not self._queue and not self._in_flight
        if idle and self._local and self._transport.try_insert(table, item):
            return
        with self._cv:
            self._queue.append((table, item))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="reverb-trajectory-writer", daemon=True
                )
                self._thread.start()
            self._cv.notify_all()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                count = min(len(self._queue), _MAX_BATCH if self._insert_batch else 1)
                batch = [self._queue.popleft() for _ in range(count)]
                self._in_flight = count
            try:
                if self._insert_batch is not None and len(batch) > 1:
                    self._send_batch(batch)
                else:
                    for table, item in batch:
                        if not self._send_one(table, item):
                            return
            except BaseException as error:  # Reported by the writer's next call.
                with self._cv:
                    self._error = error
            finally:
                with self._cv:
                    self._in_flight = 0
                    self._cv.notify_all()

    def _send_one(self, table: str, item: Item) -> bool:
        """Inserts one item, polling for `close`; returns False if closed first."""
        while True:
            try:
                self._transport.insert(table, item, _SEND_POLL_S)
            except errors.DeadlineExceededError:
                with self._cv:
                    if self._closed:
                        return False
                continue
            with self._cv:
                self._in_flight -= 1
                self._cv.notify_all()
            return True

    def _send_batch(self, batch: list[tuple[str, Item]]) -> None:
        """Inserts `batch` in order through `insert_batch`, resuming after timeouts.

        A batch the server refuses as a whole (a bad item is checked before any
        goes in) is sent item by item instead, so the good items still arrive
        and the error names the bad one.
        """
        assert self._insert_batch is not None
        while batch:
            try:
                done = self._insert_batch(batch, _SEND_POLL_S)
            except (ValueError, TypeError, errors.NotFoundError):
                for table, item in batch:
                    try:
                        if not self._send_one(table, item):
                            return
                    except BaseException as error:
                        with self._cv:  # The first error is the one reported.
                            self._error = self._error or error
                            self._in_flight -= 1
                return
            batch = batch[done:]
            with self._cv:
                self._in_flight = len(batch)
                self._cv.notify_all()
                if batch and self._closed:
                    return

    def wait_until(self, num_pending: int, timeout: float | None, what: str) -> None:
        """Waits until at most `num_pending` items are not yet in their tables."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while len(self._queue) + self._in_flight > num_pending:
                self._raise_error()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise errors.DeadlineExceededError(
                        f"{what} call did not complete within provided timeout of "
                        f"{timeout} s ({len(self._queue) + self._in_flight} items "
                        "still wait for their tables' rate limiters)."
                    )
                self._cv.wait(remaining)
            self._raise_error()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._queue.clear()
            self._cv.notify_all()


def _path_name(path: Sequence[object]) -> str:
    return "/".join(str(p) for p in path) or "<root>"


def _union(a: object, b: object) -> object:
    """The structure holding every path of `a` and `b` (mappings merge)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        merged = dict(a)
        for key, value in b.items():
            merged[key] = _union(a[key], value) if key in a else value
        return type(a)(merged) if not isinstance(a, dict) else merged  # type: ignore[call-arg]
    if a is None:
        return b
    if b is None:
        return a
    tree.assert_same_structure(a, b, check_types=False)
    return a


def structure_builder(template: object) -> Callable[[list], object]:
    """A function making nests shaped like `template` from their flat leaves.

    Equivalent to `tree.unflatten_as(template, leaves)` (same leaf order),
    but the walk over `template` is done once: lists, tuples, namedtuples and
    dicts are rebuilt by closures; other nests fall back to dm-tree.
    """
    make = _compile(template)
    if make is None:
        return lambda leaves: tree.unflatten_as(template, leaves)
    return lambda leaves: make(iter(leaves))


def _compile(template: object) -> Callable[[Iterator], object] | None:
    """A rebuilder of `template` from an iterator of leaves, or None if unsupported."""
    if not tree.is_nested(template):
        return next
    kind = type(template)
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        subs = [_compile(child) for child in template]
        if any(sub is None for sub in subs):
            return None
        return lambda it: kind(*[sub(it) for sub in subs])  # type: ignore[misc]
    if kind is tuple or kind is list:
        subs = [_compile(child) for child in template]  # type: ignore[attr-defined]
        if any(sub is None for sub in subs):
            return None
        return lambda it: kind(sub(it) for sub in subs)  # type: ignore[misc]
    if kind is dict:
        keys = sorted(template)  # type: ignore[call-overload]  # dm-tree's order.
        subs = [_compile(template[key]) for key in keys]  # type: ignore[index]
        if any(sub is None for sub in subs):
            return None
        order = list(template)  # type: ignore[call-overload]

        def build_dict(it: Iterator) -> object:
            values = {key: sub(it) for key, sub in zip(keys, subs)}  # type: ignore[misc]
            return {key: values[key] for key in order}

        return build_dict
    return None


class TrajectoryWriter:
    """Writes steps and items to a server's tables (made by `Client.trajectory_writer`).

    Not thread-safe: one writer per thread, as with Reverb.
    """

    def __init__(
        self,
        transport: Transport,
        num_keep_alive_refs: int,
        *,
        validate_items: bool = True,
    ) -> None:
        self._transport = transport
        self._keep = num_keep_alive_refs
        self._validate = validate_items
        self._sender = _Sender(transport)
        self._structure: object = None
        self._history: object = None  # `history`, rebuilt when columns are added.
        # The last appended structure (None leaves) and its leaves' column indices.
        self._template: tuple[object, list[int], Callable[[list], object]] | None = None
        self._columns: list[_ColumnHistory] = []
        self._column_of: dict[tuple, int] = {}
        self._keep_of: dict[tuple, int] = {}
        self._last_step_open = False
        self._episode_steps = 0
        self._episode_id = new_key()
        self._signatures: dict[str, signatures.FlatSignature | None] = {}

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, exc_type: object, exc_value: object, traceback: object) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()

    @property
    def history(self) -> Any:
        """The columns' histories, structured like the appended data (any nest)."""
        if not self._columns:
            raise RuntimeError(
                "history cannot be accessed before `append` is called at least once."
            )
        if self._history is None:
            paths = [path for path, _ in tree.flatten_with_path(self._structure)]
            self._history = tree.unflatten_as(
                self._structure, [self._columns[self._column_of[p]] for p in paths]
            )
        return self._history

    @property
    def episode_steps(self) -> int:
        """Completed `append` calls since the last `end_episode`."""
        return self._episode_steps

    def configure(
        self,
        path: tuple[Union[int, str], ...],
        *,
        num_keep_alive_refs: int,
        max_chunk_length: int | None = None,
    ) -> None:
        """Sets how many references the column at `path` keeps (chunking: n/a)."""
        del max_chunk_length  # Items are stored whole; there are no chunks.
        if num_keep_alive_refs < 1:
            raise ValueError(
                f"num_keep_alive_refs ({num_keep_alive_refs}) must be >= 1"
            )
        path = tuple(path)
        self._keep_of[path] = num_keep_alive_refs
        if path in self._column_of:
            self._columns[self._column_of[path]].set_keep(num_keep_alive_refs)

    def append(self, data: object, *, partial_step: bool = False) -> Any:
        """Appends one step (or part of it); returns a reference per leaf (None for None).

        Raises:
          ValueError: a leaf's dtype or shape differs from earlier steps of its
            column, or a field set by an earlier partial append is set again.
        """
        self._sender_check()
        indices, leaves, build = self._flatten(data)
        episode = self._episode_id
        columns = self._columns
        if not self._last_step_open and len(indices) == len(columns):
            # The common case: a whole step with every column, no partial step
            # open. Each column gets its value (or None) in one pass.
            checked = self._checked_value
            values = [
                None if leaf is None else checked(columns[index], leaf)
                for index, leaf in zip(indices, leaves)
            ]  # All checked before any column changes.
            refs = [None if v is None else CellRef(v, episode) for v in values]
            for index, ref in zip(indices, refs):
                columns[index].append(ref)
        else:
            refs = self._append_slow(indices, leaves)
        self._last_step_open = partial_step
        if not partial_step:
            self._episode_steps += 1
        return build(refs)

    def _append_slow(
        self, indices: list[int], leaves: list[object]
    ) -> list[CellRef | None]:
        """`append` when a partial step is open or the data lacks some columns."""
        values: dict[int, np.ndarray] = {}
        for index, leaf in zip(indices, leaves):
            if leaf is not None:
                values[index] = self._checked_value(self._columns[index], leaf)
        if self._last_step_open:
            for index in values:
                if not self._columns[index].can_set_last:
                    raise ValueError(
                        f"Field {self._columns[index].path} has already been set in "
                        "the active step by a previous (partial) append call and "
                        "must be omitted or set to None."
                    )
        refs: list[CellRef | None] = [None] * len(self._columns)
        for index, value in values.items():
            refs[index] = CellRef(value, self._episode_id)
        for index, column in enumerate(self._columns):
            if not self._last_step_open:
                column.append(refs[index])
            elif refs[index] is not None:
                column.set_last(refs[index])  # type: ignore[arg-type]
        return [refs[i] for i in indices]

    def _flatten(
        self, data: object
    ) -> tuple[list[int], list[object], Callable[[list], object]]:
        """Each leaf's column index and value, and a builder of `data`'s structure.

        New leaves get new columns. The builder makes a nest shaped like `data`
        from a flat list (as `tree.unflatten_as`, compiled once per structure).
        """
        if self._template is not None:
            structure, indices, build = self._template
            try:
                tree.assert_same_structure(structure, data, check_types=True)
            except (ValueError, TypeError):
                pass
            else:  # The common case: the same structure as the last step.
                return indices, tree.flatten(data), build
        flat = tree.flatten_with_path(data)
        if any(path not in self._column_of for path, _ in flat):
            self._structure = _union(
                self._structure, tree.map_structure(lambda _: None, data)
            )
            for path, _ in tree.flatten_with_path(self._structure):
                if path not in self._column_of:
                    self._add_column(path)
            self._history = None
        indices = [self._column_of[path] for path, _ in flat]
        template = tree.map_structure(lambda _: None, data)
        build = structure_builder(template)
        self._template = (template, indices, build)
        return indices, [leaf for _, leaf in flat], build

    def _add_column(self, path: tuple) -> None:
        column = _ColumnHistory(_path_name(path), self._keep_of.get(path, self._keep))
        steps = max((len(c) for c in self._columns), default=0)
        for _ in range(steps):
            column.append(None)
        self._column_of[path] = len(self._columns)
        self._columns.append(column)

    @staticmethod
    def _checked_value(column: _ColumnHistory, leaf: object) -> np.ndarray:
        value = np.array(leaf)
        value.flags.writeable = False
        if column.dtype is None:
            column.dtype, column.shape = value.dtype, value.shape
        elif value.dtype != column.dtype or value.shape != column.shape:
            raise ValueError(
                f"Tensor of wrong dtype/shape provided for column {column.path}: got "
                f"{value.dtype}{list(value.shape)}, expected "
                f"{column.dtype}{list(column.shape or ())}."
            )
        return value

    def create_item(self, table: str, priority: float, trajectory: object) -> None:
        """Queues an item of `trajectory` (a nest of `TrajectoryColumn`) for `table`.

        Does not wait for the table's rate limiter; `flush` does.

        Raises:
          TypeError: a leaf of `trajectory` is not a `TrajectoryColumn`.
          ValueError: a column references expired or missing data, or (with
            `validate_items`) the item does not fit the table's signature.
          NotFoundError: the server has no table `table`.
        """
        self._sender_check()
        flat = tree.flatten(trajectory)
        if not flat or not all(isinstance(c, TrajectoryColumn) for c in flat):
            raise TypeError(
                f"All leaves of `trajectory` must be `TrajectoryColumn` but got {trajectory}"
            )
        columns = [column.numpy() for column in flat]  # Checks every reference.
        episodes = {ref.episode_id for column in flat for ref in column._refs}
        item = Item(
            new_key(),
            float(priority),
            columns,
            tuple(episodes) if len(episodes) == 1 else tuple(sorted(episodes)),
        )
        if self._validate:
            if table not in self._signatures:
                self._signatures[table] = signatures.flatten_signature(
                    self._transport.signature(table)
                )
            signatures.check_columns(table, self._signatures[table], columns)
        self._sender.submit(table, item)

    def flush(
        self, block_until_num_items: int = 0, timeout_ms: int | None = None
    ) -> None:
        """Waits until at most `block_until_num_items` created items are not yet in their tables.

        Raises:
          ValueError: `block_until_num_items` < 0.
          DeadlineExceededError: not done within `timeout_ms` (the items stay
            queued and are still inserted later).
        """
        if block_until_num_items < 0:
            raise ValueError(
                f"block_until_num_items must be >= 0, got {block_until_num_items}"
            )
        timeout = None if timeout_ms is None or timeout_ms < 0 else timeout_ms / 1000
        self._sender.wait_until(block_until_num_items, timeout, "Flush")

    def end_episode(
        self, clear_buffers: bool = True, timeout_ms: int | None = None
    ) -> None:
        """Waits for every created item, then starts a new episode.

        The episode is reset (and, with `clear_buffers`, the history emptied)
        even when the wait times out.
        """
        timeout = None if timeout_ms is None or timeout_ms < 0 else timeout_ms / 1000
        try:
            self._sender.wait_until(0, timeout, "End episode")
        finally:
            self._episode_id = new_key()
            self._episode_steps = 0
            self._last_step_open = False
            if clear_buffers:
                for column in self._columns:
                    column.reset()

    def close(self) -> None:
        """Stops the writer; items not yet in their tables are dropped."""
        self._sender.close()

    def _sender_check(self) -> None:
        """Raises the sender's error, if any (read without the lock first: cheap)."""
        if self._sender._error is not None:
            with self._sender._cv:
                self._sender._raise_error()
