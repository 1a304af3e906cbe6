"""A Reverb server in its own process, for the gRPC tests and the benchmark.

`python -m tests.reverb.grpc_server_process [--checkpoint-dir D] [--block-tf]`
starts a server on an unused port with the tables of `make_tables()`, prints
`READY <port>` and serves until killed. `--block-tf` makes any TensorFlow
import fail first, to show the server side needs none.

`ServerProcess` starts one from a test and always kills it on exit.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The specs of the "signed" table: (name, shape, dtype) of each leaf of a dict.
SIGNED_SPECS = (("obs", (1, 3), "float32"), ("step", (1,), "int64"))


def make_tables() -> list:
    """uniform (MinSize 1), queue (size 10), prioritized and signed (ArraySpecs)."""
    from policylib import reverb
    from policylib.specs import array_spec

    selectors, limiters = reverb.selectors, reverb.rate_limiters
    signature = {
        name: array_spec.ArraySpec(shape, dtype, name=name)
        for name, shape, dtype in SIGNED_SPECS
    }
    return [
        reverb.Table(
            "uniform",
            selectors.Uniform(seed=0),
            selectors.Fifo(),
            max_size=1000,
            rate_limiter=limiters.MinSize(1),
        ),
        reverb.Table.queue("queue", 10),
        reverb.Table(
            "prioritized",
            selectors.Prioritized(0.8, seed=1),
            selectors.Fifo(),
            max_size=1000,
            rate_limiter=limiters.MinSize(1),
        ),
        reverb.Table(
            "signed",
            selectors.Fifo(),
            selectors.Fifo(),
            max_size=100,
            rate_limiter=limiters.MinSize(1),
            signature=signature,
        ),
    ]


def _block_tensorflow() -> None:
    class NoTensorFlow:
        def find_spec(self, name: str, path: object = None, target: object = None):
            if name.split(".")[0] in ("tensorflow", "tf_keras", "keras"):
                raise ImportError(f"TensorFlow is blocked in this server: {name}")

    sys.meta_path.insert(0, NoTensorFlow())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint-dir")
    parser.add_argument("--block-tf", action="store_true")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.block_tf:
        _block_tensorflow()
    from policylib import reverb

    checkpointer = None
    if args.checkpoint_dir:
        checkpointer = reverb.checkpointers.DefaultCheckpointer(args.checkpoint_dir)
    server = reverb.Server(make_tables(), port=args.port, checkpointer=checkpointer)
    # The handler first: the test may send SIGTERM as soon as it reads READY.
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    print(f"READY {server.port} {server.restored_from}", flush=True)
    server.wait()
    if "tensorflow" in sys.modules:
        raise SystemExit("the server imported TensorFlow")


class ServerProcess:
    """Runs `main()` in a child process; use as a context manager (kills it on exit).

    Attributes:
      port: the port it serves on.
      restored_from: the checkpoint it loaded ("None" if none).
    """

    def __init__(self, *args: str, ready_timeout: float = 60.0) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.reverb.grpc_server_process", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = self._readline(ready_timeout)
            if not line.startswith("READY "):
                raise RuntimeError(
                    f"The server process did not start: {line!r}; stderr: "
                    f"{self._stderr()}"
                )
            _, port, self.restored_from = line.split(maxsplit=2)
            self.port = int(port)
        except BaseException:
            self.kill()
            raise

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    def _readline(self, timeout: float) -> str:
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.append(self._process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(timeout)
        if not lines:
            raise RuntimeError(f"The server process printed nothing in {timeout} s.")
        return lines[0].strip()

    def _stderr(self) -> str:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(10)
        stream = self._process.stderr
        return (stream.read() if stream and not stream.closed else "")[-3000:]

    def kill(self) -> None:
        """SIGKILL, as a crash would; waits until the process is gone."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(10)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM (a graceful `Server.stop()`); returns the exit code."""
        self._process.terminate()
        deadline = time.monotonic() + timeout
        while self._process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        code = self._process.poll()
        self.kill()
        return -999 if code is None else code

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


if __name__ == "__main__":
    main()
