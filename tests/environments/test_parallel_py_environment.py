"""ParallelPyEnvironment: same steps as in-process envs; worker errors and deaths surface."""

import functools
import os
import signal
import time

import numpy as np
import pytest

from policylib.environments import (
    batched_py_environment,
    parallel_py_environment,
    suite_gym,
)
from policylib.environments.parallel_py_environment import EnvironmentWorkerError
from policylib.environments.random_py_environment import RandomPyEnvironment
from policylib.specs import array_spec

OBS = array_spec.ArraySpec((2,), np.float32)
ACT = array_spec.BoundedArraySpec((), np.int32, 0, 1)


class FailingEnv(RandomPyEnvironment):
    """Raises on the `fail_at`-th step."""

    def __init__(self, fail_at=2):
        super().__init__(OBS, ACT, seed=0, min_duration=100)
        self._fail_at = fail_at
        self._steps = 0

    def _step(self, action):
        self._steps += 1
        if self._steps >= self._fail_at:
            raise RuntimeError("boom in step")
        return super()._step(action)


def _broken_constructor():
    raise ValueError("cannot build this environment")


def test_matches_in_process_batch_with_same_seeds():
    make = functools.partial(suite_gym.load, "CartPole-v1")
    parallel = parallel_py_environment.ParallelPyEnvironment([make] * 3)
    serial = batched_py_environment.BatchedPyEnvironment([make() for _ in range(3)])
    try:
        assert parallel.batch_size == 3 and parallel.batched
        assert parallel.time_step_spec() == serial.time_step_spec()
        for env in (parallel, serial):
            env.seed([5, 6, 7])
        a, b = parallel.reset(), serial.reset()
        for step in range(30):
            action = np.array([step % 2, 1, 0], np.int64)
            a, b = parallel.step(action), serial.step(action)
            np.testing.assert_array_equal(a.observation, b.observation)
            np.testing.assert_array_equal(a.step_type, b.step_type)
    finally:
        parallel.close()
        serial.close()


def test_worker_exception_carries_its_traceback():
    env = parallel_py_environment.ParallelPyEnvironment([FailingEnv, FailingEnv])
    try:
        env.reset()
        env.step(np.array([0, 0], np.int32))
        with pytest.raises(EnvironmentWorkerError, match="boom in step"):
            env.step(np.array([0, 0], np.int32))
    finally:
        env.close()


def test_constructor_error_is_raised_in_parent():
    with pytest.raises(EnvironmentWorkerError, match="cannot build this environment"):
        parallel_py_environment.ParallelPyEnvironment([_broken_constructor])


def test_dead_worker_is_an_error_not_a_hang():
    env = parallel_py_environment.ParallelPyEnvironment(
        [functools.partial(RandomPyEnvironment, OBS, ACT)] * 2
    )
    try:
        env.reset()
        os.kill(env.envs[1]._process.pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(EnvironmentWorkerError, match=r"died with exit code -9"):
            env.step(np.array([0, 1], np.int32))
        assert time.monotonic() - start < 10
    finally:
        env.close()


def test_instances_instead_of_constructors_are_rejected():
    with pytest.raises(TypeError, match="constructors"):
        parallel_py_environment.ParallelPyEnvironment([RandomPyEnvironment(OBS, ACT)])


class HangingEnv(RandomPyEnvironment):
    """Hangs in its second step when `hang` is set."""

    def __init__(self, hang):
        super().__init__(OBS, ACT, seed=0, min_duration=100)
        self._hang = hang
        self._steps = 0

    def _step(self, action):
        self._steps += 1
        if self._hang and self._steps >= 2:
            time.sleep(3600)
        return super()._step(action)


def test_hung_worker_is_named_after_the_timeout():
    # Starting a worker can take longer than 2 s on a loaded machine: the short
    # limit applies from the call that hangs on.
    env = parallel_py_environment.ParallelPyEnvironment(
        [functools.partial(HangingEnv, hang=i == 1) for i in range(2)], timeout=120.0
    )
    try:
        env.reset()
        env.step(np.array([0, 1], np.int32))
        # Only the hanging worker gets the short limit: worker 0, answering first,
        # could itself miss 2 s on a busy machine and be named instead.
        env.envs[1]._timeout = 2.0
        start = time.monotonic()
        with pytest.raises(
            EnvironmentWorkerError,
            match=r"Environment worker 1 process \(pid \d+\) did not answer within 2 s "
            r"while running step\(\); it was stopped\.",
        ):
            env.step(np.array([0, 1], np.int32))
        assert time.monotonic() - start < 60  # the 2 s limit, not the 120 s one
        assert not env.envs[1]._process.is_alive()
    finally:
        env.close()
