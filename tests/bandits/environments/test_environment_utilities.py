"""environment_utilities: reward generators and optimal-arm helpers."""

import functools

import numpy as np
import tensorflow as tf

from policylib.bandits.environments import environment_utilities as eu
from policylib.bandits.environments import wheel_py_environment
from policylib.specs import tensor_spec


def test_linear_reward_with_and_without_noise():
    fn = eu.LinearNormalReward([1.0, 2.0], sigma=0.5)
    x = np.array([[1.0, 1.0], [2.0, 0.0]])
    np.testing.assert_array_equal(fn(x, enable_noise=False), [3.0, 2.0])
    draws = np.array([fn(x[0]) for _ in range(4000)])
    assert abs(draws.mean() - 3.0) < 0.05 and abs(draws.std() - 0.5) < 0.05


def test_sliding_and_normalized_parameters():
    fns = eu.sliding_linear_reward_fn_generator(3, 2, 0.1)
    assert [list(f.theta) for f in fns] == [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]]
    assert all(f.sigma == 0.1 for f in fns)
    normalized = eu.normalized_sliding_linear_reward_fn_generator(3, 2, 0.1)
    np.testing.assert_allclose(normalized[1].theta, np.array([1.0, 2.0, 3.0]) / 5)


def test_structured_parameters_drift_upwards():
    fns = eu.structured_linear_reward_fn_generator(4, 3, 0.1, drift_coefficient=0.2)
    thetas = np.array([f.theta for f in fns])
    steps = np.diff(thetas, axis=0)
    assert thetas.shape == (3, 4)
    assert np.all(steps >= 0) and np.all(steps < 0.2)


def test_context_sampling_fn():
    contexts = eu.context_sampling_fn(5, 3)
    assert contexts.shape == (5, 3) and contexts.dtype == np.float32
    assert contexts.min() >= -10 and contexts.max() < 10


def test_multiple_rewards():
    fns = eu.random_linear_multiple_reward_fn_generator(3, 2, 4)
    assert fns[0].thetas.shape == (3, 4)
    assert eu.random_linear_multiple_reward_fn_generator(3, 2, 1)[0].thetas.shape == (
        3,
    )
    kept = eu.random_linear_multiple_reward_fn_generator(3, 2, 1, squeeze_dims=False)
    assert kept[0].thetas.shape == (3, 1)
    fn = eu.linear_multiple_reward_fn_generator([np.eye(2)])[0]
    np.testing.assert_array_equal(
        fn(np.array([[1.0, 2.0]]), enable_noise=True), [[1.0, 2.0]]
    )


def test_optimal_reward_and_action_numpy_and_tf():
    fns = eu.linear_reward_fn_generator([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], 1.0)
    x = np.array([[3.0, 1.0], [0.0, 2.0], [-2.0, -1.0]], np.float32)
    np.testing.assert_array_equal(eu.compute_optimal_reward(x, fns), [3.0, 2.0, 3.0])
    np.testing.assert_array_equal(eu.compute_optimal_action(x, fns), [0, 1, 2])

    @tf.function
    def in_graph(observation):
        return (
            eu.tf_compute_optimal_reward(observation, fns),
            eu.tf_compute_optimal_action(observation, fns),
            eu.tf_compute_optimal_action(observation, fns, action_dtype=tf.int64),
        )

    reward, action, action64 = in_graph(tf.constant(x))
    assert reward.dtype == tf.float32 and action.dtype == tf.int32
    assert action64.dtype == tf.int64
    np.testing.assert_array_equal(reward.numpy(), [3.0, 2.0, 3.0])
    np.testing.assert_array_equal(action.numpy(), [0, 1, 2])


def test_tf_wheel_helpers_match_numpy():
    observation = np.random.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    observation[0] = [0.0, -0.9]
    action_fn = tf.function(
        functools.partial(eu.tf_wheel_bandit_compute_optimal_action, delta=0.4)
    )
    np.testing.assert_array_equal(
        action_fn(tf.constant(observation)).numpy(),
        wheel_py_environment.compute_optimal_action(observation, 0.4),
    )
    reward = eu.tf_wheel_bandit_compute_optimal_reward(
        tf.constant(observation), 0.4, 1.2, 50.0
    )
    assert reward.dtype == tf.float32
    np.testing.assert_allclose(
        reward.numpy(),
        wheel_py_environment.compute_optimal_reward(observation, 0.4, 1.2, 50.0),
    )


class _KnowsItsOptimum:
    def compute_optimal_reward(self):
        return [1.5, 2.5]

    def compute_optimal_action(self):
        return [3, 1]

    def action_spec(self):
        return tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def test_environment_delegating_helpers():
    env = _KnowsItsOptimum()
    assert eu.compute_optimal_reward_with_classification_environment(None, env) == [
        1.5,
        2.5,
    ]
    assert eu.compute_optimal_action_with_classification_environment(None, env) == [
        3,
        1,
    ]
    reward = eu.compute_optimal_reward_with_movielens_environment(None, env)
    action = eu.compute_optimal_action_with_movielens_environment(None, env, tf.int64)
    assert reward.dtype == tf.float32 and action.dtype == tf.int64
    np.testing.assert_array_equal(reward.numpy(), [1.5, 2.5])
    np.testing.assert_array_equal(action.numpy(), [3, 1])
    np.testing.assert_array_equal(
        eu.build_laplacian_over_ordinal_integer_actions_from_env(env),
        [[1, -1, 0], [-1, 2, -1], [0, -1, 1]],
    )
