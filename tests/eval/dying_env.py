"""A CartPole whose process kills itself (SIGKILL) at a given step, a bounded number of times."""

from __future__ import annotations

import functools
import os
import signal

from policylib.environments import suite_gym, wrappers


class _DiesAtStep(wrappers.PyEnvironmentBaseWrapper):
    """Kills its process at step `at` of this process, at most `times` times across processes."""

    def __init__(self, env, marker_dir: str, at: int, times: int):
        super().__init__(env)
        self._marker_dir = marker_dir
        self._at = at
        self._times = times
        self._steps = 0

    def _step(self, action):
        self._steps += 1
        if self._steps == self._at and self._claim_a_death():
            os.kill(os.getpid(), signal.SIGKILL)
        return self._env.step(action)

    def _claim_a_death(self) -> bool:
        """Takes one of the `times` death slots, atomically (O_EXCL).

        Workers reach step `at` together; counting the marker files first and
        writing one after let two of them die where one was allowed.
        """
        for slot in range(self._times):
            path = os.path.join(self._marker_dir, f"death-{slot}")
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return True
        return False


def _make(marker_dir: str, at: int, times: int):
    return _DiesAtStep(suite_gym.load("CartPole-v1"), marker_dir, at, times)


def dying_cartpole(marker_dir: str, at: int = 100, times: int = 1):
    """A constructor of CartPole-v1 envs whose process dies at its `at`-th reset, `times` times in all."""
    return functools.partial(_make, str(marker_dir), at, times)


def deaths(marker_dir: str) -> int:
    return len(os.listdir(marker_dir))
