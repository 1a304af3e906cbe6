"""Episodes/s of `evaluate` serially, in worker processes and on Ray; Ray's start-up cost.

    .venv/bin/python benchmarks/distributed_eval_bench.py --episodes 40 --json out.json

Evaluates the shipped CartPole-v1 DQN policy (500-step episodes) on
`--episodes` seeded episodes with 1, 2 and 4 workers per backend, and checks
every run's per-episode returns equal the serial run's. Ray runs against a
head this script starts on 127.0.0.1 with 4 logical CPUs (so 4 actors fit on
a 2-core machine), `ray_cluster.local_head`, and stops after by the process
ids it started; every Ray server it starts listens on 127.0.0.1 only.

Reported per run: episodes/s over the episodes alone (`wall_time_s`), and the
start-up (`startup_s`: worker processes loading TensorFlow and the policy,
or connecting to Ray plus starting the actors). Ray's own overhead is also
timed apart: starting the head, connecting to it, starting a local Ray
in-process (`ray_cluster.connect(None)`, on 127.0.0.1 too), and one empty
actor round trip.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
from typing import Any

from policylib import data
from policylib.distributed import ray_cluster
from policylib.eval import evaluate

# The head serves this machine only; without this, `ray start` turns token
# authentication on whenever ~/.ray/auth_token exists and the driver is refused.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def ray_overheads(address: str) -> dict[str, float]:
    """Seconds for Ray's connection and actor start-up, apart from any policy."""
    with contextlib.ExitStack() as stack:
        ray, connect = _timed(lambda: stack.enter_context(ray_cluster.connect(address)))

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
    with contextlib.ExitStack() as stack:
        _, local = _timed(
            lambda: stack.enter_context(ray_cluster.connect(None, num_cpus=2))
        )
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

    with contextlib.ExitStack() as stack:
        head, head_start = _timed(
            lambda: stack.enter_context(ray_cluster.local_head(num_cpus=4))
        )
        run_workers("ray", ray_address=head.address)
        overheads = {
            "ray_start_head_s": round(head_start, 2),
            **ray_overheads(head.address),
        }
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
