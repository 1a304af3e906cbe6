"""Serving a `ReplayService` over gRPC to clients in other processes.

Each RPC of `wire.Method` is a unary call whose request and response are
`wire` messages (no protobuf, nothing unpickled). The handler calls the same
`ReplayService` method an in-process client would; an error it raises goes
back as a gRPC status plus its class name, for the client to raise again.

A call with no timeout waits in short slices and gives up once its client is
gone (cancelled, disconnected), so a dead client neither holds a worker
thread forever nor takes a sample nobody receives.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent import futures

import grpc  # type: ignore[import-untyped]

from policylib.reverb import errors, wire
from policylib.reverb.items import SampledItem
from policylib.reverb.service import ReplayService

__all__ = ["GrpcServer"]

# How long one wait slice of a call without timeout lasts.
_POLL_S = 0.5
# Worker threads: blocked samples and inserts each hold one.
_MAX_WORKERS = 256

_STATUS: dict[str, grpc.StatusCode] = {
    "NotFoundError": grpc.StatusCode.NOT_FOUND,
    "DeadlineExceededError": grpc.StatusCode.DEADLINE_EXCEEDED,
    "CancelledError": grpc.StatusCode.CANCELLED,
    "UnavailableError": grpc.StatusCode.UNAVAILABLE,
    "ValueError": grpc.StatusCode.INVALID_ARGUMENT,
    "TypeError": grpc.StatusCode.INVALID_ARGUMENT,
    "KeyError": grpc.StatusCode.INVALID_ARGUMENT,
    "IndexError": grpc.StatusCode.OUT_OF_RANGE,
    "NotImplementedError": grpc.StatusCode.UNIMPLEMENTED,
}

SERVER_OPTIONS = [
    ("grpc.max_send_message_length", wire.MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", wire.MAX_MESSAGE_BYTES),
    # Two servers must not share a port silently.
    ("grpc.so_reuseport", 0),
    # Let clients' keepalive pings through (they detect a vanished server).
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000),
    ("grpc.http2.max_ping_strikes", 0),
]

Handler = Callable[[bytes, grpc.ServicerContext], bytes]


def _identity(data: bytes) -> bytes:
    return data


class _DaemonThreadPool(futures.Executor):
    """Runs each call on its own reserved daemon thread, reusing idle ones.

    `ThreadPoolExecutor` threads are joined at interpreter exit, so a process
    whose server was never stopped would hang on a call blocked in a table;
    daemon threads let it exit. Every submitted call reserves an idle thread
    or starts one (up to `max_workers`), so a blocked call never holds up a
    call queued behind it while threads are left.
    """

    def __init__(self, max_workers: int, name: str) -> None:
        self._max_workers = max_workers
        self._name = name
        self._queue: queue.SimpleQueue[
            tuple[futures.Future, Callable[..., object], tuple, dict] | None
        ] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0
        self._shutdown = False

    def submit(
        self, fn: Callable[..., object], /, *args: object, **kwargs: object
    ) -> futures.Future:
        future: futures.Future = futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("The Reverb server's thread pool is shut down.")
            self._queue.put((future, fn, args, kwargs))
            if self._idle:
                self._idle -= 1
            elif self._threads < self._max_workers:
                self._threads += 1
                threading.Thread(
                    target=self._work,
                    name=f"{self._name}-{self._threads}",
                    daemon=True,
                ).start()
        return future

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            future, fn, args, kwargs = task
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as error:  # Handed to the future's owner.
                    future.set_exception(error)
            del task, future, fn, args, kwargs
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            for _ in range(self._threads):
                self._queue.put(None)


class _Servicer:
    """The RPC handlers, each a `ReplayService` call between two `wire` messages."""

    def __init__(self, service: ReplayService) -> None:
        self._service = service

    def handlers(self) -> dict[wire.Method, Handler]:
        return {
            wire.Method.INSERT: self.insert,
            wire.Method.TRY_INSERT: self.try_insert,
            wire.Method.INSERT_BATCH: self.insert_batch,
            wire.Method.SAMPLE: self.sample,
            wire.Method.MUTATE_PRIORITIES: self.mutate_priorities,
            wire.Method.RESET: self.reset,
            wire.Method.SERVER_INFO: self.server_info,
            wire.Method.SIGNATURE: self.signature,
            wire.Method.CHECKPOINT: self.checkpoint,
        }

    def insert(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        reader = wire.Reader(request)
        timeout = reader.optional_f64()
        table = reader.string()
        item = reader.item()
        reader.done()
        if timeout is not None:
            self._service.insert(table, item, timeout)
            return b""
        while context.is_active():
            try:
                self._service.insert(table, item, _POLL_S)
                break
            except errors.DeadlineExceededError:
                continue
        return b""

    def try_insert(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        reader = wire.Reader(request)
        table = reader.string()
        item = reader.item()
        reader.done()
        return b"\1" if self._service.try_insert(table, item) else b"\0"

    def insert_batch(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        items, timeout = wire.decode_items(request)
        if timeout is not None:
            done = self._service.insert_batch(items, timeout)
        else:
            done = 0
            while done < len(items) and context.is_active():
                done += self._service.insert_batch(items[done:], _POLL_S)
        writer = wire.Writer()
        writer.u32(done)
        return writer.getvalue()

    def sample(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        reader = wire.Reader(request)
        timeout = reader.optional_f64()
        table = reader.string()
        num_samples = reader.u32()
        reader.done()
        if timeout is not None:
            return wire.encode_sampled(
                self._service.sample(table, num_samples, timeout)
            )
        sampled: list[SampledItem] = []
        while len(sampled) < num_samples:
            if not context.is_active():
                return b""
            try:
                sampled += self._service.sample(table, 1, _POLL_S)
            except errors.DeadlineExceededError:
                continue
        return wire.encode_sampled(sampled)

    def mutate_priorities(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        table, updates, deletes = wire.decode_priorities(request)
        self._service.mutate_priorities(table, updates, deletes)
        return b""

    def reset(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self._service.reset(request.decode("utf-8"))
        return b""

    def server_info(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        return wire.encode_table_infos(self._service.server_info())

    def signature(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        writer = wire.Writer()
        writer.json(wire.encode_signature(self._service.signature(request.decode())))
        return writer.getvalue()

    def checkpoint(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        return self._service.checkpoint().encode("utf-8")


def _with_errors(method: wire.Method, handler: Handler) -> Handler:
    """`handler`, sending the errors it raises as status + class name."""

    def call(request: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            return handler(request, context)
        except Exception as error:  # Every error goes back to the client.
            name = wire.error_class_name(error)
            if name == "RuntimeError" and not isinstance(error, RuntimeError):
                logging.exception("Reverb RPC %s failed", method.value)
                message = f"{type(error).__name__}: {error}"
            else:
                message = wire.error_message(error)
            context.set_trailing_metadata(((wire.ERROR_METADATA_KEY, name),))
            context.abort(_STATUS.get(name, grpc.StatusCode.INTERNAL), message)
            raise  # abort() raises; this is never reached.

    return call


class GrpcServer:
    """A started gRPC server for `service` on all interfaces at `port` (0: any).

    Raises:
      UnavailableError: the port could not be bound (e.g. in use).
    """

    def __init__(self, service: ReplayService, port: int) -> None:
        self._pool = _DaemonThreadPool(_MAX_WORKERS, "reverb-grpc")
        self._server = grpc.server(
            self._pool,
            options=SERVER_OPTIONS,
        )
        handlers = {
            method.value: grpc.unary_unary_rpc_method_handler(
                _with_errors(method, handler),
                request_deserializer=_identity,
                response_serializer=_identity,
            )
            for method, handler in _Servicer(service).handlers().items()
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(wire.SERVICE_NAME, handlers),)
        )
        self._port = self._bind(port)
        self._server.start()

    def _bind(self, port: int) -> int:
        failures = []
        for host in ("[::]", "0.0.0.0"):
            try:
                bound = self._server.add_insecure_port(f"{host}:{port}")
            except RuntimeError as error:
                failures.append(f"{host}: {error}")
                continue
            if bound:
                return int(bound)
            failures.append(f"{host}: not bound")
        raise errors.UnavailableError(
            f"A Reverb server could not listen on port {port} ({'; '.join(failures)})."
        )

    @property
    def port(self) -> int:
        return self._port

    def stop(self, grace: float | None = 1.0, *, wait: bool = True) -> None:
        """Stops accepting calls; running ones get `grace` seconds to finish.

        With `wait=False` this returns at once (gRPC finishes on its own
        thread; a None `grace` counts as 0): what `Server.__del__` needs.
        """
        if wait:
            self._server.stop(grace).wait(None if grace is None else grace + 5.0)
        else:
            self._server.stop(grace or 0.0)
        self._pool.shutdown()
