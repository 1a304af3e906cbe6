#!/usr/bin/env python3
"""A fork server that starts the TF-Agents gate's pytest processes warm.

The harness (`shared/tools/tfa_compat/tfa_compat.py`) runs each TF-Agents test
file in its own `python -m pytest` process, as it must: files are isolated and a
hang is killed with its process group. On this 2-core machine each of those
processes spends ~6.5 s importing TensorFlow, TFP, Keras and pytest before the
first test, about half of the gate's time (measured: 151 files under Keras 3,
median file 8.8 s, the quickest 6.6 s).

This module removes that cost without changing what each file sees. `serve`
imports those libraries once (no TensorFlow context is created: importing starts
no TensorFlow thread), then forks one child per request. The harness is given
`client`'s launcher as its `--python`: for `-m pytest` the launcher hands its
argv, working directory, environment and stdio to the server and waits; the
child becomes the process the harness would have started (own session, the
harness's environment, working directory, `sys.path` and stdio, absl's
`test_tmpdir`/`test_srcdir` defaults recomputed, random streams reseeded) and
runs pytest to a normal interpreter exit. Anything else (the harness's version
probe), or an environment that differs from the server's in a variable read at
import time (`TF_*`, `KERAS_*`, `CUDA_*`, ...), runs the real interpreter
instead. When the harness kills a launcher (its per-file timeout), the server
kills that child's process group.

    python .ci/tfa_zygote.py serve SOCKET         # the gate starts this
    python .ci/tfa_zygote.py launcher SOCKET PATH  # writes PATH, the --python
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import random
import runpy
import selectors
import signal
import socket
import struct
import sys
from collections.abc import Sequence

# Imported before forking: what every TF-Agents test file loads anyway.
PRELOAD = (
    "numpy",
    "tensorflow",
    "tensorflow_probability",
    "gin",
    "pytest",
    "absl.testing.parameterized",
    "absl.testing.absltest",
)

# Variables read while the preloaded libraries import; a request that sets any
# of them differently from the server runs in a fresh interpreter instead.
_IMPORT_TIME_PREFIXES = ("TF_", "KERAS", "CUDA", "OMP_", "MKL_", "OPENBLAS")
_IMPORT_TIME_NAMES = ("PYTHONHASHSEED", "PYTHONWARNINGS", "LD_PRELOAD")

_HEADER = struct.Struct("!I")


def _import_time_env(env: dict[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k.startswith(_IMPORT_TIME_PREFIXES) or k in _IMPORT_TIME_NAMES
    }


def _send_msg(sock: socket.socket, payload: dict, fds: Sequence[int] = ()) -> None:
    data = json.dumps(payload).encode()
    message = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [message], list(fds))
    else:
        sock.sendall(message)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = b""
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise EOFError
        chunks += chunk
    return chunks


def _recv_msg(sock: socket.socket) -> dict:
    (length,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    return json.loads(_recv_exact(sock, length))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _recv_request(sock: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 3)
    if len(head) < _HEADER.size:
        head += _recv_exact(sock, _HEADER.size - len(head))
    (length,) = _HEADER.unpack(head)
    return json.loads(_recv_exact(sock, length)), fds


# --------------------------------------------------------------------------
# Server


@dataclasses.dataclass
class _Child:
    """One request: the launcher's connection and the forked child's pid."""

    conn: socket.socket
    pid: int


def serve(path: str) -> None:
    """Preloads, then forks a pytest child per request until terminated."""
    for name in PRELOAD:
        importlib.import_module(name)
    import tensorflow as tf

    tf.keras.layers.Dense  # noqa: B018  (loads the Keras that TF_USE_LEGACY_KERAS picks)
    base_path = list(sys.path[1:])  # without this script's directory
    server_env = _import_time_env(dict(os.environ))

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, _Child] = {}  # by connection fd
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"tfa-zygote: ready on {path} (pid {os.getpid()})", flush=True)

    while os.getppid() == parent:  # ends with the gate, even one killed
        for key, _ in selector.select(timeout=0.2):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                try:
                    request, fds = _recv_request(conn)
                except (EOFError, OSError):
                    conn.close()
                    continue
                if _import_time_env(request["env"]) != server_env:
                    _send_msg(conn, {"fallback": True})
                    conn.close()
                    for fd in fds:
                        os.close(fd)
                    continue
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    for child in children.values():
                        child.conn.close()
                    conn.close()
                    _become(request, fds, base_path)  # does not return
                for fd in fds:
                    os.close(fd)
                _send_msg(conn, {"pid": pid})
                children[conn.fileno()] = _Child(conn, pid)
                selector.register(conn, selectors.EVENT_READ)
            else:
                # The launcher never writes after its request: readable means it
                # is gone (killed by the harness's timeout): end its child's group.
                child = children.pop(key.fd)
                selector.unregister(child.conn)
                child.conn.close()
                _kill_group(child.pid)
        _reap(children, selector)
    for child in children.values():
        _kill_group(child.pid)


def _reap(children: dict[int, _Child], selector: selectors.BaseSelector) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        for fd, child in list(children.items()):
            if child.pid == pid:
                try:
                    _send_msg(child.conn, {"status": status})
                except OSError:
                    pass
                selector.unregister(child.conn)
                child.conn.close()
                del children[fd]


def _become(request: dict, fds: list[int], base_path: list[str]) -> None:
    """Turns the forked child into the `python -m pytest` the harness asked for."""
    code = 1
    try:
        os.setsid()  # its own process group, as the harness starts its children
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
        # A fresh `python -m` puts the working directory first, then PYTHONPATH.
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [request["cwd"], *extra, *base_path]
        # What the preloaded absltest read from the server's environment.
        from absl import flags
        from absl.testing import absltest

        flags.FLAGS.set_default("test_tmpdir", absltest.get_default_test_tmpdir())
        flags.FLAGS.set_default("test_srcdir", absltest.get_default_test_srcdir())
        random.seed()
        import numpy as np

        np.random.seed()
        sys.argv = ["pytest", *request["args"]]
        try:
            runpy.run_module("pytest", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exit_:
            code = (
                exit_.code if isinstance(exit_.code, int) else (exit_.code is not None)
            )
    except BaseException:  # noqa: BLE001  (reported as a fresh interpreter would)
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # A normal interpreter exit: atexit handlers and finalizers run as they would.
    sys.exit(code)


# --------------------------------------------------------------------------
# Launcher (the harness's --python)

_LAUNCHER = """#!{python} -I
# Generated by .ci/tfa_zygote.py: `-m pytest` runs forked from the warm server.
import sys
sys.path.insert(0, {here!r})
import tfa_zygote
tfa_zygote.launch({python!r}, {socket!r})
"""


def write_launcher(socket_path: str, path: str) -> None:
    with open(path, "w") as f:
        f.write(
            _LAUNCHER.format(
                python=sys.executable,
                here=os.path.dirname(os.path.abspath(__file__)),
                socket=socket_path,
            )
        )
    os.chmod(path, 0o755)


def launch(python: str, socket_path: str) -> None:
    """Runs `python ARGS` through the server when ARGS is `-m pytest ...`."""
    args = sys.argv[1:]
    if args[:2] != ["-m", "pytest"] or not os.path.exists(socket_path):
        os.execv(python, [python, *args])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    request = {"args": args[2:], "cwd": os.getcwd(), "env": dict(os.environ)}
    try:
        sock.connect(socket_path)
        _send_msg(sock, request, [0, 1, 2])
    except OSError:  # no server: nothing was started, run the real interpreter
        os.execv(python, [python, *args])
    try:
        reply = _recv_msg(sock)
        if reply.get("fallback"):
            os.execv(python, [python, *args])
        status = _recv_msg(sock)["status"]
    except (OSError, EOFError):
        sys.exit(1)  # the server went away
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.exit(os.waitstatus_to_exitcode(status))


def main() -> None:
    command, *rest = sys.argv[1:]
    if command == "serve":
        serve(rest[0])
    elif command == "launcher":
        write_launcher(rest[0], rest[1])
    else:
        sys.exit(f"tfa_zygote: unknown command {command!r}")


if __name__ == "__main__":
    main()
