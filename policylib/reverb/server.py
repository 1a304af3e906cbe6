"""`Server`: hosts tables, serves them over gRPC and restores checkpoints.

`Server(tables, port)` listens with gRPC on all interfaces at `port`, for
clients in other processes or on other hosts (`grpc_server`). Clients of its
own process that connect to `localhost:<port>` (or `localhost_client()`) call
its `ReplayService` directly, without serializing anything.
"""

from __future__ import annotations

import atexit
import collections
import sys
import threading
import weakref
from collections.abc import Sequence

from policylib.reverb import checkpointers as checkpointers_lib
from policylib.reverb import service as service_lib
from policylib.reverb.client import Client
from policylib.reverb.table import Table

__all__ = ["Server", "Table"]

# Servers not yet stopped (weakly: a dropped server is still collected).
_LIVE: weakref.WeakSet[Server] = weakref.WeakSet()


def _stop_live_servers() -> None:
    """At interpreter exit, stops the servers never stopped, cutting their calls.

    Runs while gRPC's threads still run, so the process exits at once instead
    of hanging in a server's `__del__` (also after an uncaught exception).
    """
    for server in list(_LIVE):
        server._stop(grace=None)


atexit.register(_stop_live_servers)


class Server:
    """A Reverb server holding `tables`.

    Args:
      tables: the tables to host (at least one, names unique).
      port: the port it listens on (all interfaces); None picks an unused one.
      checkpointer: where `Client.checkpoint()` writes; its latest checkpoint
        (if any) is loaded into the tables now. None: a temporary directory is
        used on the first checkpoint request.

    Raises:
      ValueError: no tables, or two with one name, or this process already
        runs a server at `port`.
      UnavailableError: `port` cannot be listened on (e.g. another process
        uses it).
    """

    def __init__(
        self,
        tables: Sequence[Table] | None = None,
        port: int | None = None,
        checkpointer: checkpointers_lib.CheckpointerBase | None = None,
    ) -> None:
        if not tables:
            raise ValueError("At least one table must be provided")
        counts = collections.Counter(table.name for table in tables)
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(
                f"Multiple items in tables have the same name: {', '.join(duplicates)}"
            )
        if port is not None and service_lib.find_local(int(port)) is not None:
            raise ValueError(
                f"A Reverb server of this process already uses port {port}."
            )
        from policylib.reverb import grpc_server

        self._stopped = threading.Event()
        self._service = service_lib.ReplayService(tables, checkpointer)
        self.restored_from = self._service.restore_latest()
        self._grpc = grpc_server.GrpcServer(self._service, int(port or 0))
        self._port = self._grpc.port
        self._service.address = f"localhost:{self._port}"
        service_lib.register_local(self._port, self._service)
        _LIVE.add(self)

    @property
    def port(self) -> int:
        """The port clients connect to."""
        return self._port

    @property
    def service(self) -> service_lib.ReplayService:
        """The operations on the tables (what a transport calls)."""
        return self._service

    def localhost_client(self) -> Client:
        """A client of this server."""
        return Client(f"localhost:{self._port}")

    def stop(self) -> None:
        """Stops serving: blocked calls raise CancelledError, new calls UnavailableError."""
        self._stop(grace=1.0)

    def _stop(self, grace: float | None, *, wait: bool = True) -> None:
        """`grace`: seconds for remote calls to finish (None: cut them at once)."""
        if not self._stopped.is_set():
            self._stopped.set()
            _LIVE.discard(self)
            self._service.close()
            service_lib.unregister_local(self._port, self._service)
            self._grpc.stop(grace, wait=wait)

    def wait(self) -> None:
        """Blocks until `stop()` is called (from another thread)."""
        self._stopped.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:
        # Never blocks: gRPC's stop waits for its serving thread, which cannot
        # run while the interpreter finalizes (the `_stop_live_servers` exit
        # hook has stopped live servers by then), nor if this runs on it.
        if not hasattr(self, "_grpc") or self._stopped.is_set():
            return
        if sys.is_finalizing():
            self._stopped.set()
            self._service.close()
            return
        self._stop(grace=0.0, wait=False)

    def __repr__(self) -> str:
        return f"Server(port={self._port}, tables={sorted(self._service.tables)})"
