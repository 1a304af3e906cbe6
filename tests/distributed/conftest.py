"""A real Ray head on this machine for the tests: `ray start --head`, then `ray stop`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str) -> subprocess.CompletedProcess:
    ray = os.path.join(os.path.dirname(sys.executable), "ray")
    return subprocess.run(
        [ray, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="session")
def ray_head():
    """`HOST:PORT` of a Ray head with 2 CPUs started for the session (stopped after)."""
    pytest.importorskip("ray", reason="the Ray tests need policylib[ray]")
    port = _free_port()
    started = _ray(
        "start",
        "--head",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
    )
    if started.returncode != 0:
        pytest.fail(f"ray start failed:\n{started.stdout}\n{started.stderr}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _ray("stop")
