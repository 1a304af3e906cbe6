"""A CartPole whose process kills itself (SIGKILL) at a given step, a bounded number of times."""

from __future__ import annotations

import functools
import os
import signal

from policylib.environments import suite_gym, wrappers


class _DiesAtStep(wrappers.PyEnvironmentBaseWrapper):
    """Kills its process at step `at` of this process, while `marker_dir` holds < `times` files."""

    def __init__(self, env, marker_dir: str, at: int, times: int):
        super().__init__(env)
        self._marker_dir = marker_dir
        self._at = at
        self._times = times
        self._steps = 0

    def _step(self, action):
        self._steps += 1
        if self._steps == self._at and len(os.listdir(self._marker_dir)) < self._times:
            with open(os.path.join(self._marker_dir, f"died-{os.getpid()}"), "w"):
                pass
            os.kill(os.getpid(), signal.SIGKILL)
        return self._env.step(action)


def _make(marker_dir: str, at: int, times: int):
    return _DiesAtStep(suite_gym.load("CartPole-v1"), marker_dir, at, times)


def dying_cartpole(marker_dir: str, at: int = 100, times: int = 1):
    """A constructor of CartPole-v1 envs whose process dies at its `at`-th reset, `times` times in all."""
    return functools.partial(_make, str(marker_dir), at, times)


def deaths(marker_dir: str) -> int:
    return len(os.listdir(marker_dir))
