"""`Writer`: Reverb's legacy sequence writer (`Client.writer`), kept for old callers.

    with client.writer(max_sequence_length=3) as writer:
        for step in steps:
            writer.append(step)
            writer.create_item("table", num_timesteps=2, priority=1.0)

Each `append` adds one step of flat leaves; `create_item` makes an item of
the last `num_timesteps` steps, every leaf stacked along a new leading time
dimension. It is built on `TrajectoryWriter` (which keeps the last
`max_sequence_length` steps); new code should use `Client.trajectory_writer`.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np
import tree

from policylib.reverb.trajectory_writer import TrajectoryWriter

if TYPE_CHECKING:
    from policylib.reverb.service import Transport

__all__ = ["Writer"]


class Writer:
    """Streams steps and makes items of the latest ones (made by `Client.writer`).

    Not thread-safe. Must be closed (`close()` or a `with` block) so its last
    items reach their tables.
    """

    def __init__(
        self,
        transport: Transport,
        max_sequence_length: int,
        max_in_flight_items: int,
    ) -> None:
        self._transport = transport
        self._max_length = max_sequence_length
        self._max_in_flight = max_in_flight_items
        self._writer = TrajectoryWriter(
            transport, max_sequence_length, validate_items=True
        )
        self._num_leaves: int | None = None
        self._num_steps = 0  # Steps appended (kept: the last `max_sequence_length`).
        self._closed = False

    def __enter__(self) -> Writer:
        if self._closed:
            raise ValueError("Cannot reuse already closed Writer")
        return self

    def __exit__(self, exc_type: object, exc_value: object, traceback: object) -> None:
        if exc_type is None:
            self.close()
        elif not self._closed:  # Keep the original error; drop pending items.
            self._closed = True
            self._writer.close()

    def __del__(self) -> None:
        # Never blocks: pending items of an unclosed writer are dropped.
        if not getattr(self, "_closed", True):
            logging.warning(
                "A Reverb Writer was deleted without close(); its pending items "
                "are dropped."
            )
            self._closed = True
            self._writer.close()

    def __repr__(self) -> str:
        return (
            f"Writer(max_sequence_length={self._max_length}, "
            f"steps={self._num_steps}, closed={self._closed})"
        )

    def _check_open(self, method: str) -> None:
        if self._closed:
            raise RuntimeError(f"Calling method {method} after close has been called.")

    def append(self, data: object) -> None:
        """Adds one step (any nest; only its flat leaves are kept).

        Raises:
          ValueError: the step has a different number of leaves than earlier
            steps, or a leaf's dtype or shape differs from earlier steps.
        """
        self._check_open("append")
        leaves = tree.flatten(data)
        if self._num_leaves is not None and len(leaves) != self._num_leaves:
            raise ValueError(
                f"Number of tensors per timestep was inconsistent: earlier steps "
                f"had {self._num_leaves}, this one has {len(leaves)}."
            )
        self._writer.append(leaves)
        self._num_leaves = len(leaves)
        self._num_steps += 1

    def append_sequence(self, sequence: object) -> None:
        """Adds `T` steps at once: every leaf of `sequence` has leading dimension `T`.

        Raises:
          ValueError: `sequence` has no leaves, a scalar leaf, or leaves with
            different leading dimensions.
        """
        self._check_open("append_sequence")
        leaves = [np.asarray(leaf) for leaf in tree.flatten(sequence)]
        if not leaves:
            raise ValueError("append_sequence called with empty data.")
        for index, leaf in enumerate(leaves):
            if leaf.ndim == 0:
                raise ValueError(
                    f"append_sequence called with a scalar at flat index {index}."
                )
        lengths = [len(leaf) for leaf in leaves]
        if len(set(lengths)) != 1:
            raise ValueError(
                "append_sequence called with leaves of different leading "
                f"dimensions: {[(str(x.dtype), x.shape) for x in leaves]}."
            )
        for t in range(lengths[0]):
            self.append([leaf[t] for leaf in leaves])

    def create_item(self, table: str, num_timesteps: int, priority: float) -> None:
        """Queues an item of the last `num_timesteps` steps for `table`.

        Each leaf of the item is the leaf's values in those steps, stacked
        along a new leading (time) dimension. The item may wait for the
        table's rate limiter; `flush` and `close` wait until it is in. More
        than `max_in_flight_items` waiting items make this call wait too.

        Raises:
          ValueError: `num_timesteps` < 1, more than the steps appended or
            more than `max_sequence_length`; `priority` is NaN; the item does
            not fit the table's signature (as a whole; a one-step item may fit
            by its step. Reverb's legacy writer lets longer items fit by step).
          NotFoundError: the server has no table `table`.
        """
        self._check_open("create_item")
        if num_timesteps < 1:
            raise ValueError(
                f"num_timesteps ({num_timesteps}) must be a positive integer"
            )
        if num_timesteps > self._num_steps:
            raise ValueError(
                f"num_timesteps ({num_timesteps}) is larger than the number of "
                f"appended timesteps ({self._num_steps})."
            )
        if num_timesteps > self._max_length:
            raise ValueError(
                f"num_timesteps ({num_timesteps}) must be <= max_sequence_length "
                f"({self._max_length})."
            )
        if math.isnan(priority):
            raise ValueError("priority must not be NaN.")
        trajectory = [column[-num_timesteps:] for column in self._writer.history]
        self._writer.create_item(table, priority, trajectory)
        self._writer.flush(block_until_num_items=self._max_in_flight)

    def flush(self) -> None:
        """Waits until every created item is in its table."""
        self._check_open("flush")
        self._writer.flush()

    def close(self) -> None:
        """Waits for the created items, then closes the writer.

        Raises:
          ValueError: `close` was already called.
        """
        if self._closed:
            raise ValueError("close() has already been called on Writer.")
        self._closed = True
        try:
            self._writer.flush()
        finally:
            self._writer.close()
