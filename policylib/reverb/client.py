"""`Client`: inserts, samples and manages the tables of a Reverb server.

A client is made from an address, `Client("localhost:8000")`, as in Reverb.
It talks to the server through a transport (see `service.Transport`): the
server's own `ReplayService` when that server runs in this process, else a
gRPC channel (`grpc_client.GrpcTransport`), so a client works alike in the
server's process and in any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Union

import numpy as np
import tree

from policylib.reverb import service as service_lib
from policylib.reverb.keys import new_key
from policylib.reverb.replay_sample import ReplaySample
from policylib.reverb.reverb_types import TableInfo
from policylib.reverb.table import Item, SampledItem
from policylib.reverb.trajectory_writer import TrajectoryWriter
from policylib.reverb.writer import Writer

__all__ = ["Client"]

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "")


def _port_of(address: str) -> tuple[str, int]:
    address = address.strip()
    for prefix in ("dns:///", "ipv4:", "ipv6:", "grpc://"):
        if address.startswith(prefix):
            address = address[len(prefix) :]
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"A Reverb server address is 'host:port', got {address!r}.")
    return host, int(port)


# How long a client's first call waits for a remote server, by default.
DEFAULT_CONNECT_TIMEOUT_S = 30.0


class Client:
    """A client of the Reverb server at `server_address` ("host:port").

    Connecting is lazy, as with Reverb's gRPC channel: the first call that
    needs the server waits up to `connect_timeout` seconds (a policylib
    addition, keyword only) for it to answer, then raises `UnavailableError`
    naming the address. Once connected, a call to a server that is gone fails
    at once with `UnavailableError`, and so do calls waiting when it goes.
    """

    def __init__(
        self,
        server_address: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        if not connect_timeout > 0:
            raise ValueError(
                f"connect_timeout must be a positive number of seconds, got "
                f"{connect_timeout!r}."
            )
        self._address = server_address
        self._host, self._port = _port_of(server_address)
        self._connect_timeout = float(connect_timeout)
        self._transport: service_lib.Transport | None = None
        self._signature_cache: dict[str, object] = {}

    def __reduce__(self) -> tuple[Callable[..., Client], tuple[str, float]]:
        return _make_client, (self._address, self._connect_timeout)

    def __repr__(self) -> str:
        return f"Client(server_address={self._address!r})"

    @property
    def server_address(self) -> str:
        return self._address

    def _connect(self) -> service_lib.Transport:
        if self._transport is None:
            service = None
            if self._host in _LOCAL_HOSTS or self._host == _hostname():
                service = service_lib.find_local(self._port)
            if service is not None:
                self._transport = service
            else:
                from policylib.reverb import grpc_client

                self._transport = grpc_client.GrpcTransport(
                    _grpc_target(self._host, self._port), self._connect_timeout
                )
        return self._transport

    # -- Writing ------------------------------------------------------------

    def insert(
        self,
        data: object,
        priorities: Mapping[str, float],
        *,
        timeout: float | None = None,
    ) -> None:
        """Inserts `data` as a one-step item into each table of `priorities`.

        Blocks while a table's rate limiter holds the insert; `timeout`
        (seconds, a policylib addition) bounds the wait per table.

        Raises:
          ValueError: `priorities` is empty, or `data` does not fit a signature.
          DeadlineExceededError: a table held the insert past `timeout`.
        """
        if not priorities:
            raise ValueError("priorities must contain at least one item")
        transport = self._connect()
        columns = [np.array(leaf)[np.newaxis] for leaf in tree.flatten(data)]
        key = new_key()
        episode = (new_key(),)
        for table, priority in priorities.items():
            item = Item(key, float(priority), list(columns), episode)
            transport.insert(table, item, timeout)

    def trajectory_writer(
        self, num_keep_alive_refs: int, *, validate_items: bool = True
    ) -> TrajectoryWriter:
        """A `TrajectoryWriter` whose columns keep `num_keep_alive_refs` steps."""
        if num_keep_alive_refs < 1:
            raise ValueError(
                f"num_keep_alive_refs ({num_keep_alive_refs}) must be a positive integer"
            )
        return TrajectoryWriter(
            self._connect(), num_keep_alive_refs, validate_items=validate_items
        )

    def writer(
        self,
        max_sequence_length: int,
        delta_encoded: bool = False,
        chunk_length: int | None = None,
        max_in_flight_items: int | None = 25,
    ) -> Writer:
        """Reverb's legacy `Writer`, keeping the last `max_sequence_length` steps.

        Prefer `trajectory_writer`. `delta_encoded` and `chunk_length` are
        checked but have no effect (items are stored whole). At most
        `max_in_flight_items` created items (None: no limit) wait for their
        tables before `create_item` waits too.

        Raises:
          ValueError: `max_sequence_length` < 1, `chunk_length` outside
            [1, max_sequence_length], or `max_in_flight_items` < 1.
        """
        del delta_encoded  # Nothing is compressed.
        if max_sequence_length < 1:
            raise ValueError(
                f"max_sequence_length ({max_sequence_length}) must be a positive integer"
            )
        if chunk_length is not None and not 1 <= chunk_length <= max_sequence_length:
            raise ValueError(
                f"chunk_length ({chunk_length}) must be a positive integer <= "
                f"max_sequence_length ({max_sequence_length})"
            )
        if max_in_flight_items is None:
            max_in_flight_items = 1_000_000
        if max_in_flight_items < 1:
            raise ValueError(
                f"max_in_flight_items ({max_in_flight_items}) must be a positive integer"
            )
        return Writer(self._connect(), max_sequence_length, max_in_flight_items)

    # -- Sampling -----------------------------------------------------------

    def sample(
        self,
        table: str,
        num_samples: int = 1,
        *,
        emit_timesteps: bool = True,
        unpack_as_table_signature: bool = False,
        timeout: float | None = None,
    ) -> Iterator[Union[list[ReplaySample], ReplaySample]]:
        """Yields `num_samples` samples of `table`, each waiting for the rate limiter.

        With `emit_timesteps` each sample is a list of per-step `ReplaySample`s
        (one for an item from `insert`); otherwise one `ReplaySample` holding
        whole columns. Data is the flat list of columns, or nested as the
        table's signature when `unpack_as_table_signature` is set and the
        table has one. `timeout` (seconds, a policylib addition) bounds each
        wait; past it `DeadlineExceededError` is raised.
        """
        transport = self._connect()
        structure = self._signature(table) if unpack_as_table_signature else None

        def unflatten(columns: Sequence[np.ndarray]) -> object:
            if structure is None:
                return list(columns)
            return tree.unflatten_as(structure, list(columns))

        for _ in range(num_samples):
            sampled: SampledItem = transport.sample(table, 1, timeout)[0]
            columns = sampled.columns
            if not emit_timesteps:
                yield ReplaySample(sampled.info, unflatten(columns))
                continue
            lengths = {len(c) if c.ndim else -1 for c in columns}
            if len(lengths) != 1 or -1 in lengths:
                raise ValueError("Can't split non timestep trajectory into timesteps.")
            yield [
                ReplaySample(sampled.info, unflatten([c[i] for c in columns]))
                for i in range(lengths.pop())
            ]

    # -- Managing tables ----------------------------------------------------

    def mutate_priorities(
        self,
        table: str,
        updates: Mapping[int, float] | None = None,
        deletes: Sequence[int] | None = None,
    ) -> None:
        """Deletes `deletes`, then sets the priorities `updates` (unknown keys ignored)."""
        self._connect().mutate_priorities(
            table, dict(updates or {}), list(deletes or [])
        )

    def update_priorities(self, table: str, updates: Mapping[int, float]) -> None:
        """Sets the priorities in `updates` (unknown keys ignored)."""
        self.mutate_priorities(table, updates=updates)

    def reset(self, table: str) -> None:
        """Removes every item of `table` and resets its rate limiter."""
        self._connect().reset(table)

    def server_info(self, timeout: float | None = None) -> dict[str, TableInfo]:
        """Each table's `TableInfo`, by name."""
        infos = self._connect().server_info(timeout)
        if not self._signature_cache:
            self._signature_cache = {
                name: info.signature for name, info in infos.items()
            }
        return infos

    def checkpoint(self) -> str:
        """Makes the server write a checkpoint; returns its path."""
        return self._connect().checkpoint()

    def _signature(self, table: str) -> object:
        if table not in self._signature_cache:
            self._signature_cache[table] = self._connect().signature(table)
        return self._signature_cache[table]


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _grpc_target(host: str, port: int) -> str:
    """The gRPC target for host and port (IPv6 literals bracketed, no host: local)."""
    if host in ("", "0.0.0.0"):
        host = "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def _make_client(server_address: str, connect_timeout: float) -> Client:
    """Rebuilds a pickled client (a new connection in the new process)."""
    return Client(server_address, connect_timeout=connect_timeout)
