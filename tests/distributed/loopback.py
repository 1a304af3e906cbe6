"""What network addresses a tree of processes uses, for tests that keep traffic on 127.0.0.1.

`recording_env(dir, driver_pid)` is an environment constructor for
`evaluate`: each worker (process or Ray actor) that builds it writes, to
`dir/<pid>.json`, the inet sockets of the driver and all its descendants,
and inside a Ray actor the node addresses the cluster reports.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from policylib.environments import suite_gym

LOOPBACK_IPS = frozenset({"127.0.0.1", "::ffff:127.0.0.1", "::1"})


def family(pid: int) -> list[int]:
    """`pid` and every process descending from it."""
    root = psutil.Process(pid)
    return [pid, *(p.pid for p in root.children(recursive=True))]


def inet_sockets(pids: list[int]) -> list[dict[str, Any]]:
    """The TCP/UDP sockets of `pids`: owner, state, local and remote address."""
    found = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            name = process.name()
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue  # ended meanwhile
        for c in connections:
            found.append(
                {
                    "pid": pid,
                    "name": name,
                    "status": c.status,
                    "local": c.laddr.ip,
                    "port": c.laddr.port,
                    "remote": c.raddr.ip if c.raddr else None,
                }
            )
    return found


def off_loopback(sockets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sockets bound to, or connected to, an address other than loopback."""
    return [
        s
        for s in sockets
        if s["local"] not in LOOPBACK_IPS
        or (s["remote"] is not None and s["remote"] not in LOOPBACK_IPS)
    ]


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (a zombie has ended)."""
    running = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.add(pid)
        except psutil.NoSuchProcess:
            continue
    return running


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    """Those of `pids` still running after waiting up to `timeout` s for them to end."""
    deadline = time.monotonic() + timeout
    while (running := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running


def _record_and_load(out_dir: str, driver: int):
    record: dict[str, Any] = {"pid": os.getpid(), "family": family(driver)}
    record["sockets"] = inet_sockets(record["family"])
    ray = sys.modules.get("ray")  # imported in a Ray actor only
    if ray is not None and ray.is_initialized():
        record["nodes"] = [n["NodeManagerAddress"] for n in ray.nodes()]
        record["node_ip"] = ray.util.get_node_ip_address()
    Path(out_dir, f"{os.getpid()}.json").write_text(json.dumps(record))
    return suite_gym.load("CartPole-v1")


def recording_env(out_dir: Path, driver: int):
    """A CartPole-v1 constructor that records its worker's view (see module doc)."""
    return functools.partial(_record_and_load, str(out_dir), driver)


def records(out_dir: Path) -> list[dict[str, Any]]:
    """What every worker recorded, in no particular order."""
    return [json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))]
