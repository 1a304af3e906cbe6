"""Connecting to Ray: the one place policylib calls `ray.init` and `ray.shutdown`.

    with ray_cluster.connect("127.0.0.1:6379") as ray:   # a running `ray start --head`
        ...
    with ray_cluster.connect(None) as ray:   # this process's Ray, or a local one for the block
        ...
    with ray_cluster.local_head(num_cpus=4) as head:   # a head for this machine alone
        evaluate(..., backend="ray", ray_address=head.address)

A process already connected (`ray.init` called by the user) is used as is and
left connected. Otherwise `connect` joins the cluster at `address` and stays
connected for the rest of the process (as `ray.init` would), so that later
blocks for the same address reuse the connection; `disconnect()` closes it, as
does joining another address, stopping that head with `local_head`, or the
process's exit. Connecting and disconnecting again and again in one process is
what Ray handles worst: a driver's I/O thread has crashed the whole process
(SIGSEGV in `_raylet.so`) just after a `ray.shutdown`. When `address` is None,
`connect` starts a local Ray for the block and stops it when the block ends.

A Ray that serves this machine alone stays on 127.0.0.1. Ray rewrites a
loopback address to the machine's network address (so that other nodes can
reach it) unless it runs in its single-machine mode, the one it uses on macOS
and Windows; `connect` switches that mode on while it starts a local Ray or
joins a head at a loopback address, and `local_head` starts its head in it.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import importlib
import inspect
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from policylib.base import arg_checks, extras

__all__ = [
    "LOOPBACK",
    "LocalHead",
    "check_cpus",
    "connect",
    "local_head",
    "require_ray",
    "where",
]

LOOPBACK = "127.0.0.1"

# Ray's single-machine switch: "0" makes it take 127.0.0.1 as this node's
# address instead of the machine's network address (ray_constants).
_SINGLE_MACHINE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# The cluster address `connect` joined and stays connected to (None: none).
_kept_address: str | None = None
_kept_address_exit_hook: list[bool] = []


def require_ray(feature: str = "Ray backends") -> ModuleType:
    """`ray`, or `MissingExtraError` naming `pip install 'policylib[ray]'`."""
    return extras.require("ray", extra="ray", feature=feature)


def _is_loopback(address: str) -> bool:
    """Whether `"HOST:PORT"` (`"[HOST]:PORT"` for IPv6) names this machine."""
    host = address
    if address.startswith("["):
        host = address[1:].split("]")[0]
    elif address.count(":") == 1:
        host = address.split(":")[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def connect(address: str | None, num_cpus: int | None = None) -> Iterator[ModuleType]:
    """Yields `ray`, connected to `address` (or to a local Ray started here).

    Args:
      address: `"HOST:PORT"` of a running cluster's head (`ray start --head`),
        `"auto"` for the cluster this machine belongs to, or None: the
        cluster in `RAY_ADDRESS` if set, else a new local Ray on 127.0.0.1
        for the block (never another Ray already running on the machine).
      num_cpus: CPUs of a local Ray started here (None: all of them).

    Raises:
      MissingExtraError: Ray is not installed.
      ConnectionError: nothing answers at `address`.
    """
    global _kept_address
    ray = require_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if ray.is_initialized():
        if _kept_address is None or _kept_address == address:
            yield ray  # the user's connection, or the one kept for `address`
            return
        disconnect()  # kept for another cluster
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    local = address is None
    try:
        with _single_machine(ray, local or _is_loopback(address or "")):
            if local:
                ray.init(address="local", num_cpus=num_cpus, **options)
            else:
                ray.init(address=address, **options)
    except ConnectionError as e:
        if _refused_for_token(e):
            raise ConnectionError(
                f"The Ray cluster at {address!r} uses token authentication and "
                "refused this process: set RAY_AUTH_MODE=token here (with the "
                "head's token in ~/.ray/auth_token or RAY_AUTH_TOKEN), or start "
                "the head with RAY_AUTH_MODE=disabled."
            ) from e
        raise ConnectionError(
            f"No Ray cluster answers at {address!r}: start one with "
            f"`ray start --head --port PORT` and pass its HOST:PORT ({e})."
        ) from e
    if not local:
        if not _kept_address_exit_hook:
            atexit.register(disconnect)
            _kept_address_exit_hook.append(True)
        _kept_address = address
        yield ray
        return
    try:
        yield ray
    finally:
        _shutdown(ray, wait=True)


def disconnect() -> None:
    """Closes the connection `connect` kept to a cluster; a no-op without one.

    A connection the user opened with `ray.init` is never closed here.
    """
    global _kept_address
    if _kept_address is None:
        return
    _kept_address = None
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        _shutdown(ray, wait=False)


def _shutdown(ray: ModuleType, wait: bool) -> None:
    """`ray.shutdown`; with `wait`, returns once a local Ray's processes are gone."""
    if wait and "wait_for_processes" in inspect.signature(ray.shutdown).parameters:
        ray.shutdown(wait_for_processes=True)  # newer Ray only
    else:
        ray.shutdown()


@contextlib.contextmanager
def _single_machine(ray: ModuleType, on: bool) -> Iterator[None]:
    """Ray's single-machine mode while `ray.init` runs, when `on`.

    Ray reads the switch when it is imported, and again in every process it
    starts: the flag is set in the imported module and in the environment
    those processes inherit, then both are put back, so a later connection
    to another machine's cluster in this process works as before. Once
    connected, Ray takes the node's address from the connection.
    """
    if not on:
        yield
        return
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    saved_flag = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    saved_env = os.environ.get(_SINGLE_MACHINE_ENV)
    os.environ[_SINGLE_MACHINE_ENV] = "0"
    if saved_flag is not None:
        constants.ENABLE_RAY_CLUSTER = False  # type: ignore[union-attr]
    try:
        yield
    finally:
        if saved_flag is not None:
            constants.ENABLE_RAY_CLUSTER = saved_flag  # type: ignore[union-attr]
        if saved_env is None:
            os.environ.pop(_SINGLE_MACHINE_ENV, None)
        else:
            os.environ[_SINGLE_MACHINE_ENV] = saved_env


def _refused_for_token(error: BaseException | None) -> bool:
    """Whether a failed `ray.init` came from a missing or wrong auth token.

    `ray start --head` turns token authentication on by itself when
    ~/.ray/auth_token exists (a local `ray.init()` writes one), while a
    connecting driver does not: the cause is then only in the error chain.
    """
    while error is not None:
        if "AuthenticationError" in str(error) or "InvalidAuthToken" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def where(ray: ModuleType) -> str:
    """This worker's process id and node, for messages: `pid 123 on 10.0.0.2`."""
    return f"pid {os.getpid()} on {ray.util.get_node_ip_address()}"


def check_cpus(
    ray: ModuleType,
    actors: int,
    owner: str,
    per_actor: float = 1.0,
    wait_s: float = 30.0,
) -> None:
    """Raises ValueError when the cluster cannot place `actors` actors.

    Actors that cannot be placed would wait forever for a CPU; this says so
    up front instead. A cluster with enough CPUs that are busy (actors of a
    job that just ended are released asynchronously) gets `wait_s` seconds
    to free them.
    """
    needed = actors * per_actor
    total = float(ray.cluster_resources().get("CPU", 0.0))
    advice = (
        "Ask for fewer workers, add nodes (ray start --address ...), or start the "
        "head with more logical CPUs (ray start --head --num-cpus N)."
    )
    if total + 1e-9 < needed:
        raise ValueError(
            f"{owner}: {actors} Ray actors need {needed:g} free CPUs, but the cluster "
            f"has {total:g}. {advice}"
        )
    deadline = time.monotonic() + wait_s
    while True:
        free = float(ray.available_resources().get("CPU", 0.0))
        if free + 1e-9 >= needed:
            return
        if time.monotonic() >= deadline:
            raise ValueError(
                f"{owner}: {actors} Ray actors need {needed:g} free CPUs, but only "
                f"{free:g} of the cluster's {total:g} were free after {wait_s:g} s "
                f"(other jobs hold the rest). {advice}"
            )
        time.sleep(0.2)


# ----------------------------------------------------------------------------
# A head for this machine alone.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class LocalHead:
    """A Ray head `local_head` started on 127.0.0.1, and how to stop only it.

    Attributes:
      address: `"127.0.0.1:PORT"`, for `ray_address` / `--ray-address`.
      session: the process id of the `ray start` that started it. It ran in
        a new session, which every process of the head (GCS, raylet,
        agents, the workers the raylet starts) inherits, so that session id
        names exactly this head's processes; the system does not reuse it
        while any of them lives.
      temp_dir: the head's own Ray directory (logs, sockets), so it does not
        become the "latest cluster" other processes' `ray.init()` would join.

    `connect(head.address)` joins it. A script that calls
    `ray.init(address=head.address)` itself needs
    `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` in its environment: otherwise Ray
    swaps 127.0.0.1 for the machine's network address, where the head does
    not listen.
    """

    address: str
    session: int
    temp_dir: str

    def pids(self) -> list[int]:
        """Process ids of every process of this head still alive."""
        return [p.pid for p in _session_processes(self.session)]

    def stop(self, grace_s: float = 10.0) -> None:
        """Stops this head's processes (and no others), as `ray stop` would.

        The raylet goes first (it ends its workers), then the agents and
        monitors, then the GCS; each gets `grace_s` seconds after SIGTERM
        before SIGKILL. Returns once none is left.
        """
        _stop_session(self.session, grace_s)


@contextlib.contextmanager
def local_head(
    num_cpus: int, *, port: int | None = None, timeout_s: float = 120.0
) -> Iterator[LocalHead]:
    """Starts a Ray head on 127.0.0.1 for the block, then stops only it.

    Every server of the head (GCS, raylet, object manager, agents, client
    server, workers) listens on 127.0.0.1; there is no dashboard and no
    usage reporting. Token authentication is off unless `RAY_AUTH_MODE` is
    set here: no other machine can reach the head. Drivers join it with
    `connect(head.address)`.

    Args:
      num_cpus: logical CPUs of the head (actors it can place at once).
      port: the GCS port (None: a free one).
      timeout_s: how long `ray start` may take.

    Raises:
      TypeError, ValueError: `num_cpus` or `port` is not a positive int.
      MissingExtraError: Ray is not installed.
      RuntimeError: `ray start` failed (its output is in the message).
    """
    arg_checks.check_int(num_cpus, "num_cpus", owner="local_head")
    arg_checks.check_int(port, "port", allow_none=True, owner="local_head")
    require_ray("Local Ray heads")
    port = _free_port() if port is None else port
    temp_dir = tempfile.mkdtemp(prefix="ray-")
    env = {
        "RAY_AUTH_MODE": "disabled",
        **os.environ,
        _SINGLE_MACHINE_ENV: "0",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    command = [
        *(sys.executable, "-m", "ray.scripts.scripts", "start", "--head"),
        f"--node-ip-address={LOOPBACK}",
        f"--port={port}",
        f"--num-cpus={num_cpus}",
        f"--ray-client-server-port={_free_port()}",
        f"--temp-dir={temp_dir}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    started = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    head = LocalHead(f"{LOOPBACK}:{port}", started.pid, temp_dir)
    try:
        try:
            output, _ = started.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"`ray start --head` did not finish in {timeout_s:g} s."
            ) from None
        if started.returncode != 0:
            raise RuntimeError(
                f"`ray start --head` failed (exit {started.returncode}):\n{output}"
            )
        yield head
    finally:
        if _kept_address == head.address:
            disconnect()  # before its head goes, not after
        if started.poll() is None:
            started.kill()
            started.wait()
        head.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _psutil() -> Any:
    """psutil, which Ray depends on (imported untyped)."""
    return importlib.import_module("psutil")


def _session_processes(session: int) -> list[Any]:
    """The live (psutil) processes of the session `session`."""
    psutil = _psutil()
    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == session and process.status() != "zombie":
                found.append(process)
        except (OSError, psutil.Error):
            continue  # gone meanwhile, or not ours to see
    return found


def _stop_session(session: int, grace_s: float) -> None:
    """Stops a session's processes in `ray stop`'s order: raylet, the rest, GCS."""
    psutil = _psutil()

    def stage(process: Any) -> int:
        try:
            name = process.name()
        except psutil.Error:
            return 1
        return {"raylet": 0, "gcs_server": 2}.get(name, 1)

    for current in (0, 1, 2, None):  # None: whatever is left, SIGKILL at once
        group = [
            p
            for p in _session_processes(session)
            if current is None or stage(p) == current
        ]
        if not group:
            continue
        if current is not None:
            _signal(group, signal.SIGTERM)
            group = _wait_gone(session, group, grace_s)
        _signal(group, signal.SIGKILL)
        _wait_gone(session, group, grace_s)
    left = _session_processes(session)
    if left:
        raise RuntimeError(
            f"Ray head processes {[p.pid for p in left]} outlived SIGKILL."
        )


def _signal(processes: list[Any], signum: int) -> None:
    psutil = _psutil()
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signum)


def _wait_gone(session: int, processes: list[Any], timeout_s: float) -> list[Any]:
    """Waits up to `timeout_s` for `processes` to end; returns those still alive."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = {p.pid for p in _session_processes(session)}
        left = [p for p in processes if p.pid in alive]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)
