"""`Server`: hosts tables (in this process for now) and restores checkpoints.

`Server(tables, port)` serves the clients of this process that connect to
`localhost:<port>` or call `localhost_client()`. Serving other processes
needs the gRPC transport, which is not built yet.
"""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Sequence

from policylib.reverb import checkpointers as checkpointers_lib
from policylib.reverb import service as service_lib
from policylib.reverb.client import Client
from policylib.reverb.table import Table

__all__ = ["Server", "Table"]


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


class Server:
    """A Reverb server holding `tables`.

    Args:
      tables: the tables to host (at least one, names unique).
      port: the port clients connect to; None picks an unused one.
      checkpointer: where `Client.checkpoint()` writes; its latest checkpoint
        (if any) is loaded into the tables now. None: a temporary directory is
        used on the first checkpoint request.

    Raises:
      ValueError: no tables, or two with one name.
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
        self._port = _unused_port() if port is None else int(port)
        if service_lib.find_local(self._port) is not None:
            raise ValueError(
                f"A Reverb server of this process already uses port {self._port}."
            )
        self._service = service_lib.ReplayService(
            tables, checkpointer, address=f"localhost:{self._port}"
        )
        self.restored_from = self._service.restore_latest()
        self._stopped = threading.Event()
        service_lib.register_local(self._port, self._service)

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
        """Stops serving: blocked calls raise CancelledError, new clients find nothing."""
        if not self._stopped.is_set():
            self._service.close()
            service_lib.unregister_local(self._port, self._service)
            self._stopped.set()

    def wait(self) -> None:
        """Blocks until `stop()` is called (from another thread)."""
        self._stopped.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:
        if hasattr(self, "_stopped"):
            self.stop()

    def __repr__(self) -> str:
        return f"Server(port={self._port}, tables={sorted(self._service.tables)})"
