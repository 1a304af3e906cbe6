"""Episodes/s of `evaluate` serially, in worker processes and on Ray; Ray's start-up cost.

    .venv/bin/python benchmarks/distributed_eval_bench.py --episodes 40 --json out.json

Evaluates the shipped CartPole-v1 DQN policy (500-step episodes) on
`--episodes` seeded episodes with 1, 2 and 4 workers per backend, and checks
every run's per-episode returns equal the serial run's. Ray runs against a
head this script starts with `ray start --head --num-cpus 4` (4 logical CPUs,
so 4 actors fit on a 2-core machine) and stops after.

Reported per run: episodes/s over the episodes alone (`wall_time_s`), and the
start-up (`startup_s`: worker processes loading TensorFlow and the policy,
or connecting to Ray plus starting the actors). Ray's own overhead is also
timed apart: `ray start --head`, `ray.init(address=...)` to a running head,
`ray.init()` starting a local Ray in-process, and one empty actor round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from typing import Any

from policylib import data
from policylib.eval import evaluate

RAY = os.path.join(os.path.dirname(sys.executable), "ray")
# The head serves this machine only; without this, `ray start` turns token
# authentication on whenever ~/.ray/auth_token exists and the driver is refused.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def ray_overheads(address: str) -> dict[str, float]:
    """Seconds for Ray's connection and actor start-up, apart from any policy."""
    import ray

    _, connect = _timed(lambda: ray.init(address=address, log_to_driver=False))

    @ray.remote(num_cpus=1)
    class Empty:
        def ping(self) -> int:
            return os.getpid()

    def start_actor() -> Any:
        actor = Empty.remote()
        ray.get(actor.ping.remote())
        return actor

    actor, first_actor = _timed(start_actor)
    _, round_trip = _timed(lambda: ray.get(actor.ping.remote()))
    ray.kill(actor)
    ray.shutdown()
    _, local = _timed(
        lambda: ray.init(address="local", num_cpus=2, log_to_driver=False)
    )
    ray.shutdown()
    return {
        "connect_to_head_s": round(connect, 3),
        "start_empty_actor_s": round(first_actor, 3),
        "actor_round_trip_ms": round(round_trip * 1e3, 2),
        "start_local_ray_in_process_s": round(local, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    path = data.cartpole_dqn_path()
    workers = [int(w) for w in args.workers.split(",")]
    rows: list[dict[str, Any]] = []

    def record(result: Any, backend: str, n: int) -> None:
        rows.append(
            {
                "backend": backend,
                "workers": n,
                "episodes_per_s": round(result.episodes_per_s, 2),
                "steps_per_s": round(result.steps_per_s, 1),
                "wall_time_s": round(result.wall_time_s, 2),
                "startup_s": round(result.startup_s, 2),
            }
        )
        print(rows[-1], flush=True)

    serial = evaluate(path, "CartPole-v1", args.episodes, seed=0, progress=False)
    record(serial, "serial", 1)

    def run_workers(backend: str, **options: Any) -> None:
        """1, 2, 4... workers of `backend`, each run checked against the serial one."""
        for n in workers:
            result = evaluate(
                path,
                "CartPole-v1",
                args.episodes,
                seed=0,
                num_workers=n,
                backend=backend,
                progress=False,
                **options,
            )
            assert result.returns == serial.returns, (backend, n)
            record(result, backend, n)

    run_workers("processes")

    port = _free_port()
    _, head_start = _timed(
        lambda: subprocess.run(
            [
                RAY,
                "start",
                "--head",
                f"--port={port}",
                "--num-cpus=4",
                "--include-dashboard=false",
                "--disable-usage-stats",
            ],
            check=True,
            capture_output=True,
        )
    )
    address = f"127.0.0.1:{port}"
    try:
        run_workers("ray", ray_address=address)
        overheads = {"ray_start_head_s": round(head_start, 2), **ray_overheads(address)}
    finally:
        subprocess.run([RAY, "stop"], check=False, capture_output=True)
    print(overheads)
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "episodes": args.episodes,
        "runs": rows,
        "ray_overheads": overheads,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
