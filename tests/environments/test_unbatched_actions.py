"""A batch of one takes an action without its batch dim, as TF-Agents 0.19 does.

TF-Agents' bandit tutorial steps a one-environment `TFPyEnvironment` with
`tf_environment.step(1)` and gets a reward of shape [1]. A batch of several
still refuses an unbatched action, and a wrong batch size is named.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.environments import (
    batched_py_environment,
    py_environment,
    tf_py_environment,
)
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts


class _EchoEnv(py_environment.PyEnvironment):
    """Rewards the action taken (the sum of its leaves), so a test sees what arrived."""

    def __init__(self, action_spec=None):
        super().__init__()
        self._action_spec = action_spec or array_spec.BoundedArraySpec(
            (), np.int32, 0, 3, name="action"
        )
        self._observation_spec = array_spec.ArraySpec((2,), np.float32, "observation")
        self.seen: list = []

    def action_spec(self):
        return self._action_spec

    def observation_spec(self):
        return self._observation_spec

    def _reset(self):
        return ts.restart(np.zeros(2, np.float32))

    def _step(self, action):
        self.seen.append(action)
        total = sum(float(np.sum(a)) for a in tf.nest.flatten(action))
        return ts.transition(np.zeros(2, np.float32), np.float32(total))


def test_batched_py_environment_of_one_takes_an_unbatched_action() -> None:
    inner = _EchoEnv()
    env = batched_py_environment.BatchedPyEnvironment([inner])
    env.reset()
    step = env.step(np.int32(2))
    np.testing.assert_array_equal(step.reward, np.float32([2.0]))
    assert np.shape(inner.seen[-1]) == ()  # The environment gets its own shape.
    np.testing.assert_array_equal(env.step(np.int32([1])).reward, [1.0])  # Batched too.
    np.testing.assert_array_equal(env.step(3).reward, [3.0])  # A Python int.


def test_nested_actions_may_mix_batched_and_unbatched_leaves() -> None:
    spec = {
        "move": array_spec.BoundedArraySpec((2,), np.int32, 0, 3),
        "jump": array_spec.BoundedArraySpec((), np.int32, 0, 1),
    }
    inner = _EchoEnv(spec)
    env = batched_py_environment.BatchedPyEnvironment([inner])
    env.reset()
    step = env.step({"move": np.int32([1, 2]), "jump": np.int32([1])})
    np.testing.assert_array_equal(step.reward, [4.0])
    assert np.shape(inner.seen[-1]["move"]) == (2,)
    assert np.shape(inner.seen[-1]["jump"]) == ()


def test_tf_py_environment_of_one_takes_an_unbatched_action() -> None:
    env = tf_py_environment.TFPyEnvironment(_EchoEnv())
    env.reset()
    reward = env.step(1).reward  # The tutorial's call.
    assert reward.shape == (1,) and reward.dtype == tf.float32
    np.testing.assert_array_equal(reward.numpy(), [1.0])
    np.testing.assert_array_equal(env.step(tf.constant(2)).reward.numpy(), [2.0])
    np.testing.assert_array_equal(env.step(tf.constant([3])).reward.numpy(), [3.0])

    @tf.function
    def step(action):
        return env.step(action).reward

    np.testing.assert_array_equal(step(tf.constant(1)).numpy(), [1.0])


def _batch_of_two() -> batched_py_environment.BatchedPyEnvironment:
    env = batched_py_environment.BatchedPyEnvironment([_EchoEnv(), _EchoEnv()])
    env.reset()
    return env


def test_a_batch_of_two_still_refuses_unbatched_and_wrongly_batched_actions() -> None:
    env = _batch_of_two()
    with pytest.raises(
        ValueError, match="has no batch dim; expected a leading dim of batch_size=2"
    ):
        env.step(np.int32(1))
    with pytest.raises(ValueError, match="does not match batch size: 3 vs. 2"):
        env.step(np.int32([1, 1, 1]))
    np.testing.assert_array_equal(env.step(np.int32([1, 2])).reward, [1.0, 2.0])


def test_a_batch_of_one_refuses_a_batch_of_several_actions() -> None:
    env = batched_py_environment.BatchedPyEnvironment([_EchoEnv()])
    env.reset()
    np.testing.assert_array_equal(env.step(np.int32([2])).reward, [2.0])
    with pytest.raises(ValueError, match="does not match batch size: 2 vs. 1"):
        env.step(np.int32([1, 1]))


def test_tf_py_environment_names_a_wrong_batch_before_running() -> None:
    env = tf_py_environment.TFPyEnvironment(_batch_of_two())
    env.reset()
    with pytest.raises(
        ValueError, match=r"has no batch dim; expected \[batch_size=2\]"
    ):
        env.step(tf.constant(1))
    with pytest.raises(
        ValueError, match=r"batch dim of 3 \(shape \(3,\)\); expected batch_size=2"
    ):
        env.step(tf.constant([1, 1, 1]))

    @tf.function
    def step(action):
        return env.step(action).reward

    # Inside a graph the error is still a plain ValueError, raised while tracing.
    with pytest.raises(ValueError, match="batch dim of 3"):
        step(tf.constant([1, 1, 1]))
    np.testing.assert_array_equal(step(tf.constant([1, 2])).numpy(), [1.0, 2.0])


def test_a_list_is_an_action_value_for_a_single_leaf_spec() -> None:
    one = tf_py_environment.TFPyEnvironment(_EchoEnv())
    one.reset()
    np.testing.assert_array_equal(one.step([2]).reward.numpy(), [2.0])  # As TF-Agents.
    two = tf_py_environment.TFPyEnvironment(_batch_of_two())
    two.reset()
    np.testing.assert_array_equal(two.step([1, 3]).reward.numpy(), [1.0, 3.0])
    batched = _batch_of_two()
    np.testing.assert_array_equal(batched.step([2, 1]).reward, [2.0, 1.0])


def test_parallel_environment_names_an_unbatched_action() -> None:
    from policylib.environments import parallel_py_environment

    env = parallel_py_environment.ParallelPyEnvironment([_EchoEnv, _EchoEnv])
    try:
        env.reset()
        with pytest.raises(
            ValueError, match="no batch dim; expected a leading dim of batch_size=2"
        ):
            env.step(np.int32(1))
        np.testing.assert_array_equal(env.step(np.int32([1, 2])).reward, [1.0, 2.0])
    finally:
        env.close()
