"""TFPyEnvironment's current time step kept in variables between driver runs.

A driver run without a time step starts from `current_time_step()`; the
mirror lets a traced run read it from variables instead of calling Python.
These tests pin what may never change: the time step read is always the one
Python holds, whatever ran in between (eager steps, graph steps outside a
driver, resets, a driver loop that failed part way).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.drivers import dynamic_episode_driver, dynamic_step_driver, tf_driver
from policylib.environments import py_environment, tf_py_environment
from policylib.policies import random_tf_policy
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts


class _Counter(py_environment.PyEnvironment):
    """Observation [t, episode]; episodes of 4 steps; can be told to fail."""

    def __init__(self, observation_shape=(2,)):
        super().__init__(handle_auto_reset=True)
        self._shape = observation_shape
        self.t = 0
        self.episode = -1
        self.fail_after: int | None = None  # fail on this many more steps

    def observation_spec(self):
        return array_spec.ArraySpec(self._shape, np.float32, "observation")

    def action_spec(self):
        return array_spec.BoundedArraySpec((), np.int32, 0, 1, "action")

    def _observation(self):
        obs = np.zeros(self._shape, np.float32)
        obs.flat[0], obs.flat[1] = self.t, self.episode
        return obs

    def _reset(self):
        self.t, self.episode = 0, self.episode + 1
        return ts.restart(self._observation())

    def _step(self, action):
        self.t += 1
        if self.fail_after is not None:
            self.fail_after -= 1
            if self.fail_after == 0:
                raise RuntimeError("the environment failed on purpose")
        if self.t >= 4:
            return ts.termination(self._observation(), np.float32(1))
        return ts.transition(self._observation(), np.float32(1))


def _setup(**kwargs):
    py_env = _Counter(**kwargs)
    env = tf_py_environment.TFPyEnvironment(py_env)
    policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
    return py_env, env, policy


def _step_run(env, policy, num_steps):
    """A traced `DynamicStepDriver.run` taking no time step (the mirror's reader)."""
    return tf.function(
        dynamic_step_driver.DynamicStepDriver(env, policy, num_steps=num_steps).run
    )


def _python_holds(env):
    return env._time_step.observation.copy()


def _python_calls(env):
    """Records which Python callbacks (`current`, `step`, `reset`) the env makes."""
    calls = []
    original = env._execute

    def execute(fn, *args):
        calls.append(fn.__name__)
        return original(fn, *args)

    env._execute = execute
    return calls


def test_a_driver_run_reads_the_last_runs_time_step_without_python():
    _, env, policy = _setup()
    run = _step_run(env, policy, 3)
    calls = _python_calls(env)
    last, _ = run()
    assert calls.count("current") == 1  # nothing to read yet: Python resets
    np.testing.assert_array_equal(last.observation.numpy(), _python_holds(env))
    calls.clear()
    for _ in range(5):
        last, _ = run()
        np.testing.assert_array_equal(last.observation.numpy(), _python_holds(env))
    assert "current" not in calls
    assert calls.count("step") >= 15


def test_the_read_follows_eager_steps_and_resets():
    _, env, policy = _setup()
    run = _step_run(env, policy, 1)
    current = tf.function(env.current_time_step)
    run()
    env.step(tf.constant([1], tf.int32))  # eager, after a graph used the mirror
    np.testing.assert_array_equal(current().observation.numpy(), _python_holds(env))
    run()
    env.reset()
    np.testing.assert_array_equal(current().observation.numpy(), [[0.0, 1.0]])
    first, _ = _step_run(env, policy, 1)()
    np.testing.assert_array_equal(first.observation.numpy(), _python_holds(env))


def test_a_graph_stepping_the_env_outside_a_driver_turns_the_mirror_off():
    _, env, policy = _setup()
    run = _step_run(env, policy, 1)
    step = tf.function(env.step)
    current = tf.function(env.current_time_step)
    calls = _python_calls(env)
    run()
    run()
    assert calls.count("current") == 1
    for _ in range(3):
        after = step(tf.constant([0], tf.int32))
        np.testing.assert_array_equal(
            current().observation.numpy(), after.observation.numpy()
        )
    assert env.step_mirror.off
    calls.clear()
    last, _ = run()  # traced before: its read now always asks Python
    assert calls.count("current") == 1
    np.testing.assert_array_equal(last.observation.numpy(), _python_holds(env))


def test_a_reset_before_a_driver_run_in_one_function_keeps_their_order():
    _, env, policy = _setup()
    driver = dynamic_step_driver.DynamicStepDriver(env, policy, num_steps=2)
    run = tf.function(driver.run)
    run()

    @tf.function
    def reset_then_run():
        env.reset()
        return driver.run()

    for episode in range(1, 4):
        last, _ = reset_then_run()
        np.testing.assert_array_equal(last.observation.numpy(), [[2.0, episode]])


def test_tf_driver_from_a_callers_time_step_leaves_the_mirror_stale():
    _, env, policy = _setup()
    run = _step_run(env, policy, 1)
    run()
    first = env.reset()  # eager: marks it stale
    last, _ = tf_driver.TFDriver(env, policy, [], max_steps=2).run(first)
    np.testing.assert_array_equal(last.observation.numpy(), _python_holds(env))
    assert not env.step_mirror.valid.numpy() and not env.step_mirror.off
    calls = _python_calls(env)
    after, _ = run()
    assert calls.count("current") == 1
    np.testing.assert_array_equal(after.observation.numpy(), _python_holds(env))


def test_a_failed_driver_loop_leaves_python_in_charge():
    py_env, env, policy = _setup()
    run = _step_run(env, policy, 3)
    current = tf.function(env.current_time_step)
    run()  # t = 3, mirrored
    # The next run: t = 4 (LAST), a reset, t = 1, then the third step fails.
    py_env.fail_after = 3
    with pytest.raises(tf.errors.OpError, match="failed on purpose"):
        run()
    # Python's time step moved on in the steps that ran; the read follows it.
    np.testing.assert_array_equal(_python_holds(env), [[1.0, 1.0]])
    np.testing.assert_array_equal(current().observation.numpy(), [[1.0, 1.0]])


def test_episode_driver_and_step_driver_share_the_mirror():
    _, env, policy = _setup()
    steps = _step_run(env, policy, 2)
    episodes = tf.function(
        dynamic_episode_driver.DynamicEpisodeDriver(env, policy, num_episodes=1).run
    )
    calls = _python_calls(env)
    for run in (steps, episodes, steps, episodes):
        last, _ = run()
        np.testing.assert_array_equal(last.observation.numpy(), _python_holds(env))
    assert calls.count("current") == 1


def test_large_time_steps_and_eager_use_are_not_mirrored():
    _, big, _ = _setup(observation_shape=(512, 1024))  # 2 MiB: copying costs more
    assert big.step_mirror is None
    _, env, _ = _setup()
    env.reset()
    env.step(tf.constant([1], tf.int32))  # eager only: the mirror stays unused
    assert env.step_mirror is not None and not env.step_mirror.used
    assert not env.step_mirror.valid.numpy()


def test_tf1_graphs_call_python_as_before():
    with tf.Graph().as_default():
        _, env, policy = _setup()
        assert env.step_mirror is None
        last, _ = dynamic_step_driver.DynamicStepDriver(env, policy, num_steps=2).run()
        with tf.compat.v1.Session() as sess:
            observation = sess.run(last.observation)
        np.testing.assert_array_equal(observation, _python_holds(env))
