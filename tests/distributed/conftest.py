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


# Token authentication off for the head and this process alike: `ray start`
# turns it on by itself when ~/.ray/auth_token exists (a local `ray.init()`
# writes one) while drivers do not, so the tests would depend on that file.
# The head serves this machine only.
AUTH = {"RAY_AUTH_MODE": "disabled"}


def _ray(*args: str) -> subprocess.CompletedProcess:
    ray = os.path.join(os.path.dirname(sys.executable), "ray")
    return subprocess.run(
        [ray, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **AUTH},
    )


@pytest.fixture(scope="session")
def ray_head():
    """`HOST:PORT` of a Ray head with 2 CPUs started for the session (stopped after)."""
    pytest.importorskip("ray", reason="the Ray tests need policylib[ray]")
    port = _free_port()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AUTH.items():
            patch.setenv(name, value)
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
