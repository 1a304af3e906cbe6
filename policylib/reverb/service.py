"""`ReplayService`: the operations a Reverb server offers, on its tables.

A `Server` owns one service; clients reach it through a `Transport` with the
same methods. In the server's own process the transport is the service itself
(looked up by port); in other processes it is `grpc_client.GrpcTransport`,
whose calls `grpc_server` turns into these same method calls on the server's
side, so tables, rate limits, errors and timeouts behave alike.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from policylib.reverb import errors
from policylib.reverb.reverb_types import TableInfo
from policylib.reverb.table import Item, SampledItem, Table

if TYPE_CHECKING:
    from policylib.reverb.checkpointers import CheckpointerBase

__all__ = ["ReplayService", "Transport", "find_local", "register_local"]


class Transport(Protocol):
    """What a `Client` and its writers need from a server."""

    @property
    def address(self) -> str: ...

    def insert(self, table: str, item: Item, timeout: float | None = None) -> None: ...

    def try_insert(self, table: str, item: Item) -> bool: ...

    def insert_batch(
        self, items: Sequence[tuple[str, Item]], timeout: float | None = None
    ) -> int:
        """Inserts items in order; how many went in (see `ReplayService.insert_batch`)."""
        ...

    def sample(
        self, table: str, num_samples: int, timeout: float | None = None
    ) -> list[SampledItem]: ...

    def mutate_priorities(
        self, table: str, updates: Mapping[int, float], deletes: Iterable[int]
    ) -> None: ...

    def reset(self, table: str) -> None: ...

    def server_info(self, timeout: float | None = None) -> dict[str, TableInfo]: ...

    def signature(self, table: str) -> object: ...

    def checkpoint(self) -> str: ...


class ReplayService:
    """Tables by name, and a checkpointer; every method is thread-safe."""

    def __init__(
        self,
        tables: Sequence[Table],
        checkpointer: CheckpointerBase | None = None,
        address: str = "in-process",
    ) -> None:
        self._tables = {table.name: table for table in tables}
        self._checkpointer = checkpointer
        self._checkpoint_lock = threading.Lock()
        self._address = address

    @property
    def address(self) -> str:
        """Where clients reach the service (named in errors)."""
        return self._address

    @address.setter
    def address(self, address: str) -> None:
        self._address = address

    @property
    def tables(self) -> dict[str, Table]:
        return dict(self._tables)

    def table(self, name: str) -> Table:
        """The table called `name`; NotFoundError names the tables there are."""
        try:
            return self._tables[name]
        except KeyError:
            raise errors.NotFoundError(
                f"No table {name!r} on the Reverb server at {self._address}; its "
                f"tables are {sorted(self._tables)}."
            ) from None

    def insert(self, table: str, item: Item, timeout: float | None = None) -> None:
        self.table(table).insert_or_assign(item, timeout)

    def try_insert(self, table: str, item: Item) -> bool:
        return self.table(table).try_insert_or_assign(item)

    def insert_batch(
        self, items: Sequence[tuple[str, Item]], timeout: float | None = None
    ) -> int:
        """Inserts (table, item) pairs in order; returns how many went in.

        Every item is checked (table exists, signature, priority) before any is
        inserted, so a bad item raises with nothing inserted. Then each insert
        waits for its table's rate limiter; `timeout` bounds the whole call,
        and when it runs out the items inserted so far stay and their count is
        returned (fewer than `len(items)` only then). `timeout=0` inserts what
        the rate limiters let through without waiting.

        Raises:
          NotFoundError: a table is not on this server.
          ValueError: an item does not fit its table's signature.
          CancelledError: the server stopped while an insert waited.
        """
        resolved = [(self.table(name), item) for name, item in items]
        for table, item in resolved:
            table.check_item(item)
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        for done, (table, item) in enumerate(resolved):
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                table.insert_or_assign(item, remaining)
            except errors.DeadlineExceededError:
                return done
        return len(resolved)

    def sample(
        self, table: str, num_samples: int, timeout: float | None = None
    ) -> list[SampledItem]:
        return self.table(table).sample_batch(num_samples, timeout)

    def mutate_priorities(
        self, table: str, updates: Mapping[int, float], deletes: Iterable[int]
    ) -> None:
        self.table(table).mutate_items(updates, deletes)

    def reset(self, table: str) -> None:
        self.table(table).reset()

    def server_info(self, timeout: float | None = None) -> dict[str, TableInfo]:
        del timeout  # Answered at once in process.
        return {name: table.info for name, table in self._tables.items()}

    def signature(self, table: str) -> object:
        return self.table(table).signature

    def checkpoint(self) -> str:
        """Writes every table to the checkpointer; returns the checkpoint's path."""
        from policylib.reverb import checkpointers

        with self._checkpoint_lock:
            if self._checkpointer is None:
                self._checkpointer = checkpointers.default_checkpointer()
            states = [table.checkpoint_state() for table in self._tables.values()]
            return self._checkpointer.save(states)

    def restore_latest(self) -> str | None:
        """Loads the checkpointer's latest checkpoint into the tables, if any."""
        if self._checkpointer is None:
            return None
        loaded = self._checkpointer.load_latest()
        if loaded is None:
            return None
        path, states = loaded
        for state in states:
            table = self._tables.get(state.name)
            if table is None:
                logging.warning(
                    "Checkpoint %s has table %r, which the server does not "
                    "have; it was not loaded.",
                    path,
                    state.name,
                )
                continue
            table.restore_state(state)
        return path

    def close(self) -> None:
        """Cancels every blocked call on every table."""
        for table in self._tables.values():
            table.close()


_LOCAL: weakref.WeakValueDictionary[int, ReplayService] = weakref.WeakValueDictionary()
_LOCAL_LOCK = threading.Lock()


def register_local(port: int, service: ReplayService) -> None:
    """Makes `service` reachable by clients in this process at `port`."""
    with _LOCAL_LOCK:
        _LOCAL[port] = service


def unregister_local(port: int, service: ReplayService) -> None:
    with _LOCAL_LOCK:
        if _LOCAL.get(port) is service:
            del _LOCAL[port]


def find_local(port: int) -> ReplayService | None:
    """The service a `Server` of this process runs at `port`, or None."""
    with _LOCAL_LOCK:
        return _LOCAL.get(port)
