"""DQN tutorial loop: Actor/Learner + `policylib.reverb` vs drivers + `TFUniformReplayBuffer`.

    .venv/bin/python benchmarks/actor_learner_bench.py
    .venv/bin/python benchmarks/actor_learner_bench.py --profile al_profile.txt

Both set-ups train the same DQN agent (QNetwork (100,), Adam 1e-3, epsilon 0.1,
tau 0.05 every 5 steps) on CartPole-v1 (`suite_gym`) with TF-Agents' tutorial
loop: 1,000 random steps first, then per iteration one collect step and one
train step on a batch of 64 two-step trajectories.

* `actor_learner`: an in-process `reverb.Server` with a uniform table, a
  `ReverbReplayBuffer` dataset (`num_parallel_calls=3`, `prefetch(3)`), a
  `ReverbAddTrajectoryObserver`, `Actor(steps_per_run=1)` of the collect policy
  (`PyTFEagerPolicy`, `use_tf_function=True`) and `Learner.run(iterations=1)`
  (TF-Agents' `examples/dqn/dqn_train_eval.py`).
* `drivers`: a `TFPyEnvironment`, a `DynamicStepDriver(num_steps=1)` of the
  collect policy and `agent.train`, both under `common.function`, on a
  `TFUniformReplayBuffer` dataset with `prefetch(3)` (TF-Agents' 1_dqn_tutorial).

Trials of `--iterations` iterations alternate between the two; the median env
steps/s of each and their ratio go to stdout (one JSON line last).
`--breakdown` also times each part alone (collect step, sampling, train step on
a fixed batch, train step with sampling) in ms per call; `--profile FILE` runs one more trial of
each under cProfile and writes its top functions to FILE and FILE.drivers.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# isort: off
import policylib  # noqa: F401  (before TensorFlow: keeps its start-up log lines off stderr)
import tensorflow as tf

# isort: on

from policylib import reverb
from policylib.drivers import dynamic_step_driver
from policylib.environments import suite_gym, tf_py_environment
from policylib.policies import py_tf_eager_policy, random_py_policy, random_tf_policy
from policylib.replay_buffers import (
    reverb_replay_buffer,
    reverb_utils,
    tf_uniform_replay_buffer,
)
from policylib.train import actor, learner, triggers
from policylib.train.utils import train_utils
from policylib.utils import common

# The example jobs' agent (examples/dqn_actor_learner/dqn_jobs.py): the tutorial's DQN.
sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "examples" / "dqn_actor_learner")
)
import dqn_jobs  # noqa: E402

BATCH_SIZE = 64
SEQUENCE_LENGTH = 2
INITIAL_COLLECT_STEPS = 1_000
TABLE = "uniform_table"


@dataclass
class Setup:
    """One way of training, and its parts for the `--breakdown` timings.

    Attributes:
      name: how results name it.
      iterate: `iterate(n)` runs n iterations (one collect step, one train step).
      parts: part name -> `fn(n)` running that part alone n times: `collect`
        (one env step with its observers), `sample` (one batch from the
        dataset), `train_fixed` (one train step on a batch already sampled),
        `train` (one train step, sampling included).
      close: releases what it holds (the Reverb server).
    """

    name: str
    iterate: Callable[[int], None]
    parts: dict[str, Callable[[int], None]]
    close: Callable[[], None]


def _repeat(fn: Callable[[], object]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            fn()

    return run


def _parts(
    collect: Callable[[], object],
    train: Callable[[], object],
    train_on: Callable[[tf.data.Iterator], object],
    dataset: tf.data.Dataset,
) -> dict[str, Callable[[int], None]]:
    """The `--breakdown` parts of a set-up.

    `train_on(iterator)` is the set-up's train step drawing from `iterator`;
    `train_fixed` gives it one batch repeated (no sampling), `sample` draws
    from a second iterator over the set-up's dataset.
    """
    iterator = iter(dataset)
    fixed = iter(tf.data.Dataset.from_tensors(next(iterator)).repeat())
    return {
        "collect": _repeat(collect),
        "sample": _repeat(lambda: next(iterator)),
        "train_fixed": _repeat(lambda: train_on(fixed)),
        "train": _repeat(train),
    }


def actor_learner_setup(root_dir: str, seed: int) -> Setup:
    """Actor/Learner on an in-process `policylib.reverb` server."""
    env = suite_gym.load("CartPole-v1")
    env.seed(seed)
    train_step = train_utils.create_train_step()
    agent = dqn_jobs.make_agent(train_step)  # The same agent in both set-ups.
    table = reverb.Table(
        TABLE,
        max_size=100_000,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        rate_limiter=reverb.rate_limiters.MinSize(1),
    )
    server = reverb.Server([table])
    replay = reverb_replay_buffer.ReverbReplayBuffer(
        agent.collect_data_spec,
        sequence_length=SEQUENCE_LENGTH,
        table_name=TABLE,
        local_server=server,
    )
    observer = reverb_utils.ReverbAddTrajectoryObserver(
        replay.py_client, TABLE, sequence_length=SEQUENCE_LENGTH, stride_length=1
    )
    dataset = replay.as_dataset(
        num_parallel_calls=3, sample_batch_size=BATCH_SIZE, num_steps=SEQUENCE_LENGTH
    ).prefetch(3)
    random_policy = random_py_policy.RandomPyPolicy(
        env.time_step_spec(), env.action_spec()
    )
    actor.Actor(
        env,
        random_policy,
        train_step,
        steps_per_run=INITIAL_COLLECT_STEPS,
        observers=[observer],
    ).run()
    collect_actor = actor.Actor(
        env,
        py_tf_eager_policy.PyTFEagerPolicy(agent.collect_policy, use_tf_function=True),
        train_step,
        steps_per_run=1,
        observers=[observer],
    )
    dqn_learner = learner.Learner(
        root_dir,
        train_step,
        agent,
        lambda: dataset,
        triggers=[
            triggers.PolicySavedModelTrigger(
                os.path.join(root_dir, learner.POLICY_SAVED_MODEL_DIR),
                agent,
                train_step,
                interval=10**9,  # saved once at start; not timed
            ),
            triggers.StepPerSecondLogTrigger(train_step, interval=1_000),
        ],
    )

    def iterate(iterations: int) -> None:
        for _ in range(iterations):
            collect_actor.run()
            dqn_learner.run(iterations=1)

    def close() -> None:
        observer.close()
        server.stop()

    parts = _parts(
        collect_actor.run,
        lambda: dqn_learner.run(iterations=1),
        lambda iterator: dqn_learner.run(iterations=1, iterator=iterator),
        dataset,
    )
    return Setup("actor_learner", iterate, parts, close)


def drivers_setup(seed: int) -> Setup:
    """The 1_dqn_tutorial loop: DynamicStepDriver + TFUniformReplayBuffer."""
    py_env = suite_gym.load("CartPole-v1")
    py_env.seed(seed)
    env = tf_py_environment.TFPyEnvironment(py_env)
    train_step = train_utils.create_train_step()
    agent = dqn_jobs.make_agent(train_step)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=env.batch_size, max_length=100_000
    )
    random_policy = random_tf_policy.RandomTFPolicy(
        env.time_step_spec(), env.action_spec()
    )
    dynamic_step_driver.DynamicStepDriver(
        env,
        random_policy,
        observers=[buffer.add_batch],
        num_steps=INITIAL_COLLECT_STEPS,
    ).run()
    collect = common.function(
        dynamic_step_driver.DynamicStepDriver(
            env, agent.collect_policy, observers=[buffer.add_batch], num_steps=1
        ).run
    )
    dataset = buffer.as_dataset(
        num_parallel_calls=3, sample_batch_size=BATCH_SIZE, num_steps=SEQUENCE_LENGTH
    ).prefetch(3)
    iterator = iter(dataset)
    train = common.function(agent.train)
    state: dict[str, object] = {"time_step": None, "policy_state": None}

    def collect_one() -> None:
        state["time_step"], state["policy_state"] = collect(
            state["time_step"], state["policy_state"]
        )

    def train_one(source: tf.data.Iterator | None = None) -> None:
        experience, _ = next(source or iterator)
        train(experience)

    def iterate(iterations: int) -> None:
        for _ in range(iterations):
            collect_one()
            train_one()

    parts = _parts(collect_one, train_one, train_one, dataset)
    return Setup("drivers", iterate, parts, lambda: None)


def _timed(fn: Callable[[int], None], iterations: int) -> float:
    """Calls per second of `fn(iterations)` (env steps/s for `Setup.iterate`)."""
    start = time.perf_counter()
    fn(iterations)
    return iterations / (time.perf_counter() - start)


def _breakdown(setups: list[Setup], iterations: int, trials: int) -> dict:
    """Median ms per call of each part of each set-up, alternating set-ups per trial."""
    times: dict[str, dict[str, list[float]]] = {
        setup.name: {part: [] for part in setup.parts} for setup in setups
    }
    for setup in setups:  # trace everything first
        for fn in setup.parts.values():
            fn(20)
    for trial in range(trials):
        for setup in setups if trial % 2 == 0 else setups[::-1]:
            for part, fn in setup.parts.items():
                times[setup.name][part].append(1000 / _timed(fn, iterations))
    medians = {
        name: {part: round(statistics.median(ms), 3) for part, ms in parts.items()}
        for name, parts in times.items()
    }
    for name, parts in medians.items():
        print(f"{name} ms/call: " + ", ".join(f"{p} {ms}" for p, ms in parts.items()))
    return medians


def _profile(setup: Setup, iterations: int, path: str) -> None:
    """Runs `iterations` iterations of `setup` under cProfile; writes the top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    setup.iterate(iterations)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"== {setup.name}: {iterations} iterations, by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(45)
    out.write(f"== {setup.name}: by own time\n")
    stats.sort_stats("tottime").print_stats(30)
    with open(path, "w") as f:
        f.write(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=500, help="per trial")
    parser.add_argument("--trials", type=int, default=5, help="per set-up")
    parser.add_argument("--warmup", type=int, default=200, help="untimed iterations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="cProfile report of each set-up (FILE, FILE.drivers)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time collect, sample, train_fixed and train alone (ms/call)",
    )
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(args.seed)
    with tempfile.TemporaryDirectory() as root_dir:
        setups = [actor_learner_setup(root_dir, args.seed), drivers_setup(args.seed)]
        for setup in setups:
            setup.iterate(args.warmup)
        rates: dict[str, list[float]] = {setup.name: [] for setup in setups}
        for trial in range(args.trials):
            order = setups if trial % 2 == 0 else setups[::-1]
            for setup in order:
                rate = _timed(setup.iterate, args.iterations)
                rates[setup.name].append(rate)
                print(f"trial {trial} {setup.name}: {rate:.1f} env steps/s", flush=True)
        breakdown = (
            _breakdown(setups, args.iterations, args.trials) if args.breakdown else None
        )
        if args.profile:
            _profile(setups[0], args.iterations, args.profile)
            _profile(setups[1], args.iterations, args.profile + ".drivers")
        for setup in setups:
            setup.close()

    medians = {name: statistics.median(values) for name, values in rates.items()}
    ratio = medians["actor_learner"] / medians["drivers"]
    print(
        json.dumps(
            {
                "benchmark": "actor_learner_vs_drivers_dqn_cartpole",
                "actor_learner_env_steps_per_s": round(medians["actor_learner"], 1),
                "drivers_env_steps_per_s": round(medians["drivers"], 1),
                "ratio": round(ratio, 3),
                "goal": ">= 0.8",
                "iterations_per_trial": args.iterations,
                "trials": args.trials,
                "breakdown_ms_per_call": breakdown,
                "tensorflow": tf.__version__,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
