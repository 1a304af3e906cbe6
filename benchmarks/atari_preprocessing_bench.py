"""Atari preprocessing throughput: policylib's suite_atari against Gymnasium's wrappers.

    .venv/bin/python benchmarks/atari_preprocessing_bench.py [--game PongNoFrameskip-v4]

The same work in each: 84x84 grey screens, 4 frames a step max-pooled over the
last two, the last 4 observations stacked, uniformly random actions, a reset
when an episode ends. Contenders, timed in alternating rounds in one thread
(OpenCV set to one thread for both):

- `policylib suite_atari.load`: the `PyEnvironment` users train on
  (`DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING`: `AtariPreprocessing` and
  `FrameStack4`, under `GymWrapper` and `AtariTimeLimit`), stepped with
  NumPy int64 actions.
- `policylib wrappers (Gymnasium API)`: `FrameStack4(AtariPreprocessing(env))`
  on the made environment, stepped directly: the preprocessing alone.
- `gymnasium AtariPreprocessing + FrameStackObservation`: Gymnasium's own,
  with `noop_max=0` (TF-Agents' preprocessing has no no-op starts).

Prints a markdown table of the median steps per second over `--rounds`.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import ale_py
import cv2
import gymnasium
import numpy as np

from policylib.environments import atari_preprocessing, atari_wrappers, suite_atari

gymnasium.register_envs(ale_py)


def _policylib_suite(game: str, actions: np.ndarray) -> Callable[[], int]:
    env = suite_atari.load(
        game,
        gym_env_wrappers=suite_atari.DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING,
        seed=0,
    )
    env.reset()

    def run() -> int:
        for action in actions:
            env.step(action)
        return len(actions)

    return run


def _stepper(env: Any, actions: np.ndarray) -> Callable[[], int]:
    """Steps a Gymnasium-API `env` through `actions` (resetting at episode ends)."""
    env.reset(seed=0)
    plain = [int(a) for a in actions]

    def run() -> int:
        for action in plain:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        return len(plain)

    return run


def _policylib_wrappers(game: str, actions: np.ndarray) -> Callable[[], int]:
    env = atari_wrappers.FrameStack4(
        atari_preprocessing.AtariPreprocessing(gymnasium.make(game))
    )
    return _stepper(env, actions)


def _gymnasium(game: str, actions: np.ndarray) -> Callable[[], int]:
    env = gymnasium.wrappers.FrameStackObservation(
        gymnasium.wrappers.AtariPreprocessing(
            gymnasium.make(game), noop_max=0, frame_skip=4, screen_size=84
        ),
        stack_size=4,
    )
    return _stepper(env, actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="PongNoFrameskip-v4")
    parser.add_argument("--steps", type=int, default=2000, help="steps per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    num_actions = gymnasium.make(args.game).action_space.n
    actions = np.random.default_rng(0).integers(num_actions, size=args.steps)
    contenders = {
        "policylib `suite_atari.load` (PyEnvironment)": _policylib_suite,
        "policylib wrappers (Gymnasium API)": _policylib_wrappers,
        "gymnasium `AtariPreprocessing` + `FrameStackObservation`": _gymnasium,
    }
    runs = {name: make(args.game, actions) for name, make in contenders.items()}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # Warm-up.
        run()
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            steps = run()
            rates[name].append(steps / (time.perf_counter() - start))
    baseline = statistics.median(rates[list(runs)[-1]])
    print(
        f"{args.game}, {args.steps} steps x {args.rounds} alternating rounds, one "
        f"thread; Python {platform.python_version()}, ale-py {ale_py.__version__}, "
        f"Gymnasium {gymnasium.__version__}, OpenCV {cv2.__version__}, "
        f"NumPy {np.__version__}\n"
    )
    print("| contender | median steps/s | min-max | vs Gymnasium |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:,.0f} | {min(values):,.0f}-{max(values):,.0f} "
            f"| {median / baseline:.2f}x |"
        )


if __name__ == "__main__":
    main()
