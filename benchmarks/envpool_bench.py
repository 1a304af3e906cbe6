"""EnvPool vs process- and Gymnasium-vectorised environments: batched steps per second.

    .venv/bin/python benchmarks/envpool_bench.py            # needs envpool, ale-py, litert
    .venv/bin/python benchmarks/envpool_bench.py --seconds 0.5 --rounds 3

Part 1, random-action stepping of 8 environments (CartPole-v1 and Pong-v5),
each backend a batched `PyEnvironment` stepped with the same precomputed
random actions:

- `envpool (raw)`: EnvPool's own `step`, no policylib (the floor);
- `suite_envpool`: `suite_envpool.load(task, num_envs=8)` (`VectorEnvWrapper`);
- `ParallelPyEnvironment`: 8 `suite_gym` environments, one process each;
- `SyncVectorEnv` / `AsyncVectorEnv`: Gymnasium's vector environments through
  the same `VectorEnvWrapper`.

Pong-v5 is EnvPool's Atari set-up (frame skip 4 with max-pooling, 84x84
grayscale, 4 stacked frames, up to 30 no-ops, no sticky actions); the Gymnasium
side builds the same from `ALE/Pong-v5` (frameskip 1, `AtariPreprocessing`,
`FrameStackObservation`).

Part 2, the shipped CartPole-v1 DQN policy exported to LiteRT
(`policylib.export.litert`), acting on `suite_envpool` CartPole-v1 with 8
environments (`env.step(policy.action(time_step).action)`), and the same
through `evaluate(..., "envpool:CartPole-v1", num_envs=8)` (its driver,
metrics and episode accounting; a random policy there too), against
random-action stepping.

Every environment is built first; then each round times every backend once,
in turn, for `--seconds` (rounds alternate, so drifting machine load hits all
alike). Prints a markdown table of the median steps/s (environment steps: 8
per batched call) over `--rounds`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from policylib.environments import py_environment

NUM_ENVS = 8
RAW = "random actions, envpool (raw)"
WRAPPED = "random actions, suite_envpool"

warnings.filterwarnings("ignore", message=".*precision lowered by casting")


def _gym_pong() -> Any:
    """Gymnasium's Pong as EnvPool's Pong-v5 (a Gymnasium env, for the vector envs)."""
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    env = gymnasium.make(
        "ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0
    )  # AtariPreprocessing skips frames itself
    env = gymnasium.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4)
    return gymnasium.wrappers.FrameStackObservation(env, stack_size=4)


def _gym_cartpole() -> Any:
    import gymnasium

    return gymnasium.make("CartPole-v1")


def _py_env(gym_maker: Callable[[], Any]) -> py_environment.PyEnvironment:
    """`gym_maker`'s environment through `suite_gym.wrap_env` (a worker's env)."""
    from policylib.environments import suite_gym

    return suite_gym.wrap_env(gym_maker())


TASKS = {
    # EnvPool task -> Gymnasium maker of the same environment.
    "CartPole-v1": _gym_cartpole,
    "Pong-v5": _gym_pong,
}


def _backends(task: str) -> dict[str, tuple[Callable[[np.ndarray], object], object]]:
    """Backend name -> (step function taking a batch of actions, thing to close)."""
    import envpool
    import gymnasium

    from policylib.environments import (
        parallel_py_environment,
        suite_envpool,
        vector_env_wrapper,
    )

    gym_maker = TASKS[task]
    raw = envpool.make_gymnasium(task, num_envs=NUM_ENVS, seed=0)
    raw.reset()
    pool = suite_envpool.load(task, num_envs=NUM_ENVS, seed=0)
    parallel = parallel_py_environment.ParallelPyEnvironment(
        [functools.partial(_py_env, gym_maker)] * NUM_ENVS
    )
    sync = vector_env_wrapper.VectorEnvWrapper(
        gymnasium.vector.SyncVectorEnv([gym_maker] * NUM_ENVS)
    )
    asyn = vector_env_wrapper.VectorEnvWrapper(
        gymnasium.vector.AsyncVectorEnv([gym_maker] * NUM_ENVS)
    )
    seeds = list(range(NUM_ENVS))
    for env in (pool, parallel, sync, asyn):
        env.seed(seeds)
        env.reset()
    return {
        "envpool (raw)": (raw.step, raw),
        "suite_envpool": (pool.step, pool),
        "ParallelPyEnvironment": (parallel.step, parallel),
        "SyncVectorEnv": (sync.step, sync),
        "AsyncVectorEnv": (asyn.step, asyn),
    }


def _steps_per_second(
    step: Callable[[np.ndarray], object], actions: np.ndarray, seconds: float
) -> float:
    """Environment steps per second of `step` over the actions, for `seconds`."""
    calls = 0
    start = time.perf_counter()
    while True:
        step(actions[calls % len(actions)])
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * NUM_ENVS / elapsed


def _alternate(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Median of each run's result over `rounds`, the runs taking turns."""
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return {name: statistics.median(values) for name, values in results.items()}


def stepping(seconds: float, rounds: int) -> list[tuple[str, str, float]]:
    """(task, backend, median steps/s) of random-action stepping."""
    rows = []
    for task in TASKS:
        backends = _backends(task)
        num_actions = 2 if task.startswith("CartPole") else 6
        actions = np.random.default_rng(0).integers(0, num_actions, (4096, NUM_ENVS))
        try:
            for step, _ in backends.values():  # warm-up
                for a in actions[:20]:
                    step(a)
            medians = _alternate(
                {
                    name: functools.partial(_steps_per_second, step, actions, seconds)
                    for name, (step, _) in backends.items()
                },
                rounds,
            )
        finally:
            for _, env in backends.values():
                env.close()  # type: ignore[attr-defined]
        rows += [(task, name, value) for name, value in medians.items()]
    return rows


def litert_evaluation(seconds: float, rounds: int) -> list[tuple[str, float]]:
    """(what, median steps/s) of the LiteRT policy on EnvPool CartPole-v1, and random steps."""
    import envpool

    from policylib import data
    from policylib.environments import suite_envpool
    from policylib.eval import evaluate
    from policylib.export import litert
    from policylib.export.litert_policy import LiteRTPolicy
    from policylib.policies import py_policy, random_py_policy

    with tempfile.TemporaryDirectory() as staging:
        export_dir = litert.export(
            data.cartpole_dqn_path(), os.path.join(staging, "litert")
        )
        policy = LiteRTPolicy(export_dir)
        env = suite_envpool.load("CartPole-v1", num_envs=NUM_ENVS, seed=0)
        raw = envpool.make_gymnasium("CartPole-v1", num_envs=NUM_ENVS, seed=0)
        raw.reset()
        actions = np.random.default_rng(0).integers(0, 2, (4096, NUM_ENVS))
        time_step = [env.reset()]

        def act_and_step(_: np.ndarray) -> None:
            time_step[0] = env.step(policy.action(time_step[0]).action)

        random_policy = random_py_policy.RandomPyPolicy(
            env.time_step_spec(), env.action_spec(), seed=0, outer_dims=(NUM_ENVS,)
        )

        def evaluation(policy: py_policy.PyPolicy, episodes: int) -> float:
            result = evaluate(
                policy,
                "envpool:CartPole-v1",
                episodes,
                num_envs=NUM_ENVS,
                seed=0,
                progress=False,
            )
            return sum(result.lengths) / result.wall_time_s

        try:
            medians = _alternate(
                {
                    RAW: functools.partial(
                        _steps_per_second, raw.step, actions, seconds
                    ),
                    WRAPPED: functools.partial(
                        _steps_per_second, env.step, actions, seconds
                    ),
                    "LiteRT policy, suite_envpool loop": functools.partial(
                        _steps_per_second, act_and_step, actions, seconds
                    ),
                    # 8,000-9,000 steps each (episodes of 500 steps; random ones ~22).
                    "LiteRT policy, evaluate(envpool:)": functools.partial(
                        evaluation, policy, 16
                    ),
                    "random policy, evaluate(envpool:)": functools.partial(
                        evaluation, random_policy, 400
                    ),
                },
                rounds,
            )
        finally:
            env.close()
            raw.close()
    return list(medians.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per timing")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()

    import envpool
    import gymnasium

    print(
        f"{NUM_ENVS} environments; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
        f"Python {platform.python_version()}, envpool {envpool.__version__}, "
        f"gymnasium {gymnasium.__version__}, NumPy {np.__version__}; median of "
        f"{args.rounds} alternating rounds of {args.seconds:g} s.\n"
    )
    rows = stepping(args.seconds, args.rounds)
    print("| task | backend | steps/s | vs ParallelPyEnvironment |")
    print("|---|---|---:|---:|")
    for task, name, value in rows:
        base = next(v for t, n, v in rows if t == task and n == "ParallelPyEnvironment")
        print(f"| {task} | {name} | {value:,.0f} | {value / base:.1f}x |")
    sys.stdout.flush()

    with contextlib.redirect_stderr(open(os.devnull, "w")):  # TF's start-up notices
        litert_rows = litert_evaluation(args.seconds, args.rounds)
    raw = dict(litert_rows)[RAW]
    wrapped = dict(litert_rows)[WRAPPED]
    print(f"\n| CartPole-v1, {NUM_ENVS} envs | steps/s | vs {RAW} | vs {WRAPPED} |")
    print("|---|---:|---:|---:|")
    for name, value in litert_rows:
        print(
            f"| {name} | {value:,.0f} | {value / raw:.2f}x | {value / wrapped:.2f}x |"
        )


if __name__ == "__main__":
    main()
