import numpy as np
import pytest
import tensorflow as tf

from policylib.policies import epsilon_greedy_policy, fixed_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tf.TensorSpec((2,), tf.float32)
ACTIONS = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3)


def _greedy(splitter=None, spec=ACTIONS, action=1):
    policy = fixed_policy.FixedPolicy(
        np.asarray(action, np.int32).reshape(spec.shape), ts.time_step_spec(OBS), spec
    )
    policy._observation_and_action_constraint_splitter = splitter
    return policy


def _steps(n):
    return ts.restart(tf.ones([n, 2]), batch_size=n)


def test_variable_epsilon_is_read_after_tracing():
    epsilon = tf.Variable(0.0)
    policy = epsilon_greedy_policy.EpsilonGreedyPolicy(_greedy(), epsilon=epsilon)
    act = tf.function(lambda t: policy.action(t, seed=3).action)
    assert np.all(act(_steps(500)).numpy() == 1)
    epsilon.assign(1.0)
    assert np.mean(act(_steps(500)).numpy() != 1) > 0.6


def test_linear_schedule_follows_the_step_variable_in_a_traced_function():
    step = tf.Variable(0, dtype=tf.int64)
    schedule = epsilon_greedy_policy.LinearEpsilonSchedule(1.0, 0.0, 10, step)
    policy = epsilon_greedy_policy.EpsilonGreedyPolicy(_greedy(), epsilon=schedule)
    act = tf.function(lambda t: policy.action(t).action)
    assert np.mean(act(_steps(500)).numpy() != 1) > 0.6
    step.assign(10)
    assert np.all(act(_steps(500)).numpy() == 1)
    assert float(schedule()) == 0.0


def test_random_branch_honours_the_mask_with_greedy_shapes():
    spec = tensor_spec.BoundedTensorSpec((1,), tf.int32, 0, 3)
    mask = tf.constant([[0, 1, 0, 1]] * 300)
    policy = epsilon_greedy_policy.EpsilonGreedyPolicy(
        _greedy(splitter=lambda obs: (obs, mask), spec=spec), epsilon=1.0
    )
    action = policy.action(_steps(300)).action
    assert action.shape == (300, 1)
    assert set(np.unique(action.numpy())) == {1, 3}


def test_log_probability_includes_the_branch():
    policy = epsilon_greedy_policy.EpsilonGreedyPolicy(_greedy(), epsilon=0.0)
    step = policy.action(_steps(4))
    np.testing.assert_allclose(step.info.log_probability.numpy(), [0.0] * 4, atol=1e-6)


def test_invalid_epsilon():
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        epsilon_greedy_policy.EpsilonGreedyPolicy(_greedy(), epsilon=1.5)
    with pytest.raises(ValueError, match="decay_steps must be positive"):
        epsilon_greedy_policy.LinearEpsilonSchedule(1.0, 0.1, 0, tf.Variable(0))
