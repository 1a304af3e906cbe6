"""Sampling speed: `ReverbReplayBuffer.as_dataset` against `TFUniformReplayBuffer.as_dataset`.

Both buffers hold the same CartPole transitions from a random policy (the
Reverb table gets 2-step items written with stride 1, as TF-Agents' DQN
example does). Each round iterates `as_dataset(sample_batch_size=64,
num_steps=2)` of one buffer for `--seconds`, alternating buffers; the median
items/s of each and their ratio are printed (goal: ratio >= 0.5; DeepMind
Reverb with TF-Agents manages about 0.09).

    .venv/bin/python benchmarks/reverb_dataset_bench.py [--steps 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from policylib import reverb
from policylib.environments import suite_gymnasium
from policylib.policies import random_py_policy
from policylib.replay_buffers import reverb_replay_buffer, tf_uniform_replay_buffer
from policylib.specs import tensor_spec
from policylib.trajectories import trajectory

BATCH = 64
NUM_STEPS = 2
TABLE = "experience"


def collect(steps: int) -> list[trajectory.Trajectory]:
    """`steps` CartPole transitions of a random policy (seeded)."""
    env = suite_gymnasium.load("CartPole-v1")
    policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec())
    np.random.seed(0)
    time_step = env.reset()
    out = []
    for _ in range(steps):
        action = policy.action(time_step)
        next_time_step = env.step(action.action)
        out.append(trajectory.from_transition(time_step, action, next_time_step))
        time_step = next_time_step
    return out


def rate(dataset: tf.data.Dataset, seconds: float) -> float:
    """Items per second drawn from `dataset` (batches of BATCH) after a warm-up."""
    iterator = iter(dataset)
    for _ in range(20):
        next(iterator)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        count += 1
    return count * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()

    steps = collect(args.steps)
    spec = tensor_spec.from_spec(
        tf.nest.map_structure(
            lambda a: tensor_spec.TensorSpec(np.shape(a), np.asarray(a).dtype),
            steps[0],
        )
    )

    uniform = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        spec, batch_size=1, max_length=args.steps
    )
    stacked = tf.nest.map_structure(lambda *xs: np.stack(xs)[:, np.newaxis], *steps)
    for t in range(args.steps):
        uniform.add_batch(tf.nest.map_structure(lambda x, t=t: x[t], stacked))

    table = reverb.Table(
        TABLE,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        max_size=args.steps,
        rate_limiter=reverb.rate_limiters.MinSize(1),
    )
    server = reverb.Server([table])
    replay = reverb_replay_buffer.ReverbReplayBuffer(
        spec, TABLE, sequence_length=NUM_STEPS, local_server=server
    )
    with replay.py_client.trajectory_writer(NUM_STEPS) as writer:
        for step in steps:
            writer.append(step)
            if writer.episode_steps >= NUM_STEPS:
                writer.create_item(
                    TABLE,
                    1.0,
                    tf.nest.map_structure(lambda c: c[-NUM_STEPS:], writer.history),
                )

    rates: dict[str, list[float]] = {"tf_uniform": [], "reverb": []}
    for _ in range(args.rounds):
        rates["tf_uniform"].append(
            rate(uniform.as_dataset(BATCH, num_steps=NUM_STEPS), args.seconds)
        )
        rates["reverb"].append(
            rate(replay.as_dataset(BATCH, num_steps=NUM_STEPS), args.seconds)
        )
    server.stop()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, values in rates.items():
        runs = ", ".join(f"{v:,.0f}" for v in values)
        print(f"{name:>10}: median {medians[name]:,.0f} items/s (rounds: {runs})")
    print(f"ratio reverb / tf_uniform: {medians['reverb'] / medians['tf_uniform']:.2f}")


if __name__ == "__main__":
    main()
