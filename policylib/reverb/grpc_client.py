"""`GrpcTransport`: a `service.Transport` that reaches a Reverb server over gRPC.

The first call waits up to `connect_timeout` seconds for the server to
answer; later calls fail at once with `UnavailableError` (naming the address)
when the connection is gone, and calls in flight fail when it drops, so no
call hangs on a dead server. Keepalive pings notice a server whose host
vanished without closing the connection.

A call with a `timeout` gets an RPC deadline a little longer than it, so the
server's own `DeadlineExceededError` (which names the rate limiter) arrives
first; a server that does not answer at all is cut off at the deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NoReturn

import grpc  # type: ignore[import-untyped]

from policylib.reverb import _exiting as exiting
from policylib.reverb import errors, wire
from policylib.reverb.items import Item, SampledItem
from policylib.reverb.reverb_types import TableInfo

__all__ = ["GrpcTransport"]

# Extra RPC deadline beyond a call's timeout, for the server's answer to arrive.
_DEADLINE_GRACE_S = 2.0
# An InsertBatch request is split at about this many bytes.
_BATCH_BYTES = 32 * 2**20

CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", wire.MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", wire.MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect quickly once a restarted server is back.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.enable_retries", 0),
]


def _identity(data: bytes) -> bytes:
    return data


class GrpcTransport:
    """Calls the `ReplayService` of the Reverb server at `address` over gRPC.

    Args:
      address: "host:port" of the server.
      connect_timeout: seconds the first call waits for the server to answer
        before raising `UnavailableError`.
    """

    def __init__(self, address: str, connect_timeout: float) -> None:
        self._address = address
        self._connect_timeout = connect_timeout
        self._channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self._connected = False
        self._connect_lock = threading.Lock()
        self._calls: dict[wire.Method, Callable[..., bytes]] = {
            method: self._channel.unary_unary(
                method.path,
                request_serializer=_identity,
                response_deserializer=_identity,
            )
            for method in wire.Method
        }

    @property
    def address(self) -> str:
        return self._address

    def close(self) -> None:
        """Closes the channel; calls in flight fail with CancelledError."""
        self._channel.close()

    def __repr__(self) -> str:
        return f"GrpcTransport({self._address!r})"

    # -- Calls ----------------------------------------------------------------

    def _ensure_connected(self) -> None:
        if self._connected:
            return
        with self._connect_lock:
            if self._connected:
                return
            ready = grpc.channel_ready_future(self._channel)
            deadline = time.monotonic() + self._connect_timeout
            while True:
                # Waits in slices, so a wait on a tf.data thread ends at exit.
                remaining = deadline - time.monotonic()
                try:
                    ready.result(timeout=max(0.0, min(exiting.SLICE_S, remaining)))
                    break
                except grpc.FutureTimeoutError:
                    if exiting.is_set():
                        ready.cancel()
                        raise errors.CancelledError(
                            f"Connecting to {self._address} was cancelled: the "
                            "interpreter is exiting."
                        ) from None
                    if remaining <= 0:
                        ready.cancel()
                        raise errors.UnavailableError(
                            f"No Reverb server answers at {self._address}: none "
                            f"answered within {self._connect_timeout} s (Client(..., "
                            "connect_timeout=) sets this wait)."
                        ) from None
            self._connected = True

    def _call(
        self,
        method: wire.Method,
        request: bytes,
        timeout: float | None = None,
        *,
        wait: bool = False,
    ) -> bytes:
        """Sends `request`; `wait` gives the RPC a deadline beyond `timeout`."""
        self._ensure_connected()
        deadline = None
        if timeout is not None:
            deadline = max(0.0, timeout) + (_DEADLINE_GRACE_S if wait else 0.0)
        try:
            return self._calls[method](request, timeout=deadline)
        except grpc.RpcError as error:
            self._raise(method, error, deadline)

    def _raise(
        self, method: wire.Method, error: grpc.RpcError, deadline: float | None
    ) -> NoReturn:
        call: grpc.Call = error
        code = call.code()
        details = call.details() or ""
        name = dict(call.trailing_metadata() or ()).get(wire.ERROR_METADATA_KEY)
        cls = wire.ERROR_CLASSES.get(str(name)) if name else None
        if cls is not None:
            raise cls(details) from None
        if code == grpc.StatusCode.UNAVAILABLE:
            raise errors.UnavailableError(
                f"The Reverb server at {self._address} is unavailable "
                f"({method.value}: {details})."
            ) from None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise errors.DeadlineExceededError(
                f"The Reverb server at {self._address} did not answer "
                f"{method.value} within {deadline} s."
            ) from None
        if code == grpc.StatusCode.CANCELLED:
            raise errors.CancelledError(
                f"{method.value} to the Reverb server at {self._address} was "
                f"cancelled ({details})."
            ) from None
        raise errors.ReverbError(
            f"{method.value} to the Reverb server at {self._address} failed: "
            f"{code.name}: {details}"
        ) from None

    # -- Transport --------------------------------------------------------------

    def insert(self, table: str, item: Item, timeout: float | None = None) -> None:
        writer = wire.Writer()
        writer.optional_f64(timeout)
        writer.string(table)
        writer.item(item)
        self._call(wire.Method.INSERT, writer.getvalue(), timeout, wait=True)

    def try_insert(self, table: str, item: Item) -> bool:
        writer = wire.Writer()
        writer.string(table)
        writer.item(item)
        return self._call(wire.Method.TRY_INSERT, writer.getvalue()) == b"\1"

    def insert_batch(
        self, items: Sequence[tuple[str, Item]], timeout: float | None = None
    ) -> int:
        """See `ReplayService.insert_batch`; large batches go as several RPCs.

        Each RPC is checked as a whole before any of its items is inserted;
        when a batch is split, an error in a later RPC leaves the earlier
        RPCs' items inserted.
        """
        done = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        for chunk in _chunks(items):
            if deadline is not None:
                timeout = max(0.0, deadline - time.monotonic())
            request = wire.encode_items(chunk, timeout)
            reader = wire.Reader(
                self._call(wire.Method.INSERT_BATCH, request, timeout, wait=True)
            )
            inserted = reader.u32()
            done += inserted
            if inserted < len(chunk):
                break
        return done

    def sample(
        self, table: str, num_samples: int, timeout: float | None = None
    ) -> list[SampledItem]:
        writer = wire.Writer()
        writer.optional_f64(timeout)
        writer.string(table)
        writer.u32(num_samples)
        response = self._call(wire.Method.SAMPLE, writer.getvalue(), timeout, wait=True)
        return wire.decode_sampled(response)

    def mutate_priorities(
        self, table: str, updates: Mapping[int, float], deletes: Iterable[int]
    ) -> None:
        request = wire.encode_priorities(table, updates, deletes)
        self._call(wire.Method.MUTATE_PRIORITIES, request)

    def reset(self, table: str) -> None:
        self._call(wire.Method.RESET, table.encode("utf-8"))

    def server_info(self, timeout: float | None = None) -> dict[str, TableInfo]:
        response = self._call(wire.Method.SERVER_INFO, b"", timeout)
        return wire.decode_table_infos(response)

    def signature(self, table: str) -> object:
        reader = wire.Reader(self._call(wire.Method.SIGNATURE, table.encode("utf-8")))
        raw = reader.json()
        reader.done()
        return wire.decode_signature(raw)

    def checkpoint(self) -> str:
        return self._call(wire.Method.CHECKPOINT, b"").decode("utf-8")


def _chunks(items: Sequence[tuple[str, Item]]) -> Iterable[list[tuple[str, Item]]]:
    """`items` in runs of about `_BATCH_BYTES` of column data (never empty)."""
    chunk: list[tuple[str, Item]] = []
    size = 0
    for pair in items:
        item_size = sum(getattr(c, "nbytes", 0) for c in pair[1].columns) + 64
        if chunk and size + item_size > _BATCH_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(pair)
        size += item_size
    if chunk or not items:
        yield chunk
