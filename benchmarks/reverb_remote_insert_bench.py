"""Inserting into and sampling from a `policylib.reverb` server in another process, over gRPC.

    .venv/bin/python benchmarks/reverb_remote_insert_bench.py --steps 5000

The script starts a server (one Uniform table, max_size 100000, MinSize(1))
in a child process and, from this process, times:

- writer: a `TrajectoryWriter` appending CartPole-like steps (observation
  float32[4], action int64, reward/discount float32, step types int32) and,
  from the second step on, `create_item` over the last 2 steps of every
  column, as TF-Agents' `ReverbAddTrajectoryObserver(sequence_length=2)` does;
  flushed at the end. Reported as appended steps per second.
- insert_batch: the same 2-step items sent with `Transport.insert_batch` in
  batches of `--batch`, items per second (what a batching writer can reach).
- sample: `Client.sample(table, 1)` one RPC per item, and `sample(table, 64)`
  on the transport, sampled items per second.

Each figure is the best of `--repeats` runs; one line each is printed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from policylib import reverb
from policylib.reverb.items import Item
from policylib.reverb.keys import new_key

TABLE = "uniform"


def _serve() -> None:
    server = reverb.Server(
        [
            reverb.Table(
                TABLE,
                sampler=reverb.selectors.Uniform(seed=0),
                remover=reverb.selectors.Fifo(),
                max_size=100_000,
                rate_limiter=reverb.rate_limiters.MinSize(1),
            )
        ]
    )
    print(server.port, flush=True)
    server.wait()


def _steps(num_steps: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "step_type": np.int32(0 if i % 50 == 0 else 1),
            "observation": rng.uniform(-1, 1, 4).astype(np.float32),
            "action": np.int64(rng.integers(2)),
            "next_step_type": np.int32(2 if i % 50 == 49 else 1),
            "reward": np.float32(1.0),
            "discount": np.float32(1.0),
        }
        for i in range(num_steps)
    ]


def time_writer(client: reverb.Client, steps: list[dict[str, np.ndarray]]) -> float:
    """Appended steps per second, with a 2-step item per step, flushed."""
    start = time.perf_counter()
    with client.trajectory_writer(2) as writer:
        for i, step in enumerate(steps):
            writer.append(step)
            if i % 50 == 49:
                writer.end_episode(timeout_ms=None)
                continue
            if writer.episode_steps >= 2:
                writer.create_item(
                    TABLE,
                    1.0,
                    {name: column[-2:] for name, column in writer.history.items()},
                )
        writer.flush()
    return len(steps) / (time.perf_counter() - start)


def time_insert_batch(
    client: reverb.Client, steps: list[dict[str, np.ndarray]], batch: int
) -> float:
    """2-step items per second through `insert_batch`, `batch` items per call."""
    names = sorted(steps[0])
    items = [
        (
            TABLE,
            Item(
                new_key(),
                1.0,
                [np.stack([steps[i][n], steps[i + 1][n]]) for n in names],
                (i // 50,),
            ),
        )
        for i in range(len(steps) - 1)
    ]
    transport = client._connect()
    start = time.perf_counter()
    for first in range(0, len(items), batch):
        transport.insert_batch(items[first : first + batch], None)
    return len(items) / (time.perf_counter() - start)


def time_sample(client: reverb.Client, num_samples: int, batch: int) -> float:
    """Sampled items per second, `batch` per RPC."""
    start = time.perf_counter()
    if batch == 1:
        for _ in client.sample(TABLE, num_samples):
            pass
    else:
        transport = client._connect()
        for _ in range(num_samples // batch):
            transport.sample(TABLE, batch, None)
    return (num_samples // batch * batch) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve()
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(child.stdout.readline())  # type: ignore[union-attr]
        client = reverb.Client(f"localhost:{port}", connect_timeout=60)
        steps = _steps(args.steps)
        results: dict[str, list[float]] = {
            "writer": [],
            "insert_batch": [],
            "sample x1": [],
            "sample x64": [],
        }
        for _ in range(args.repeats):
            client.reset(TABLE)
            results["writer"].append(time_writer(client, steps))
            results["insert_batch"].append(time_insert_batch(client, steps, args.batch))
            results["sample x1"].append(time_sample(client, args.samples, 1))
            results["sample x64"].append(time_sample(client, args.samples * 4, 64))
        size = client.server_info()[TABLE].current_size
    finally:
        child.kill()
        child.wait()
    print(
        f"reverb over gRPC, server in another process: {args.steps} CartPole-like "
        f"steps, 2-step items; {size} items in the table at the end"
    )
    print(
        f"writer (append + create_item, flushed): {max(results['writer']):,.0f} steps/s"
    )
    print(
        f"insert_batch ({args.batch} items/RPC): "
        f"{max(results['insert_batch']):,.0f} items/s"
    )
    print(f"sample (1 item/RPC): {max(results['sample x1']):,.0f} items/s")
    print(f"sample (64 items/RPC): {max(results['sample x64']):,.0f} items/s")


if __name__ == "__main__":
    main()
