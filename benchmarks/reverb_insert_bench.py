"""Insert throughput of `ReverbAddTrajectoryObserver` into a `policylib.reverb` table.

Collects CartPole trajectories with a `PyDriver` and a random policy once
(numpy leaves, as a driver hands them to observers), then times feeding them
to a `ReverbAddTrajectoryObserver` (sequence_length=2, stride_length=1) that
writes into a Uniform table (max_size 100000, MinSize(1)):

    .venv/bin/python benchmarks/reverb_insert_bench.py --steps 20000
    .venv/bin/python benchmarks/reverb_insert_bench.py --mode grpc   # server in another process

`--mode grpc` needs policylib.reverb's gRPC transport; the server runs in a
child process and the observer writes to `localhost:<port>`.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import time
from typing import Any

from policylib import reverb
from policylib.replay_buffers import reverb_utils

TABLE = "uniform"


def _table() -> reverb.Table:
    return reverb.Table(
        TABLE,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        max_size=100_000,
        rate_limiter=reverb.rate_limiters.MinSize(1),
    )


def collect(num_steps: int, seed: int = 0) -> list[Any]:
    """`num_steps` CartPole trajectories as a PyDriver's observers get them."""
    from policylib.drivers import py_driver
    from policylib.environments import suite_gymnasium
    from policylib.policies import random_py_policy

    env = suite_gymnasium.load("CartPole-v1")
    policy = random_py_policy.RandomPyPolicy(
        env.time_step_spec(), env.action_spec(), seed=seed
    )
    steps: list[Any] = []
    driver = py_driver.PyDriver(env, policy, [steps.append], max_steps=num_steps)
    driver.run(env.reset())
    return steps


def time_observer(client: reverb.Client, steps: list[Any], profile: bool) -> float:
    """Steps per second through the observer, flushed into the table."""
    observer = reverb_utils.ReverbAddTrajectoryObserver(
        client, TABLE, sequence_length=2, stride_length=1
    )
    observer(steps[0])  # First call: the writer's columns and signature checks.
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    for step in steps[1:]:
        observer(step)
    observer.flush()
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    observer.close()
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return (len(steps) - 1) / elapsed


def _serve(port_queue: Any, stop: Any) -> None:
    server = reverb.Server([_table()])
    port_queue.put(server.port)
    stop.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", choices=("inprocess", "grpc"), default="inprocess")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    steps = collect(args.steps)
    if args.mode == "inprocess":
        results = []
        for _ in range(args.repeats):
            with reverb.Server([_table()]) as server:
                client = server.localhost_client()
                results.append(time_observer(client, steps, args.profile))
                items = client.server_info()[TABLE].current_size
    else:
        context = multiprocessing.get_context("spawn")
        port_queue, stop = context.Queue(), context.Event()
        child = context.Process(target=_serve, args=(port_queue, stop), daemon=True)
        child.start()
        port = port_queue.get(timeout=120)
        try:
            client = reverb.Client(f"localhost:{port}")
            results = []
            for _ in range(args.repeats):
                client.reset(TABLE)
                results.append(time_observer(client, steps, args.profile))
            items = client.server_info()[TABLE].current_size
        finally:
            stop.set()
            child.join(30)
    best = max(results)
    print(
        f"reverb insert ({args.mode}): {args.steps} CartPole steps, "
        f"sequence_length=2 stride=1; items in table after the last run: {items}"
    )
    print("steps/s per run: " + ", ".join(f"{r:,.0f}" for r in results))
    print(f"best: {best:,.0f} steps/s")


if __name__ == "__main__":
    main()
