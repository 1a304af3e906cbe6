"""DriftingLinearEnvironment: the reward matrix rotates, keeping its norm."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.environments import drifting_linear_environment as dle
from policylib.bandits.environments import environment_utilities

tfd = tfp.distributions


def _env(batch=2, dim=3, arms=4, drift=0.3, additive_scale=1.0):
    return dle.DriftingLinearEnvironment(
        tfd.Normal(tf.zeros([batch, dim]), tf.ones([batch, dim])),
        tfd.Normal(tf.zeros([dim, arms]), tf.ones([dim, arms])),
        tfd.Deterministic(drift),
        tfd.Normal(tf.zeros([arms]), additive_scale * tf.ones([arms])),
    )


def test_rotation_changes_two_rows_and_keeps_column_norms():
    env = _env()
    dynamics = env.environment_dynamics
    env.reset()
    for _ in range(5):
        before = dynamics._current_observation_to_reward.numpy()
        env.step(tf.zeros([2], tf.int32))
        after = dynamics._current_observation_to_reward.numpy()
        changed = np.flatnonzero(np.any(np.abs(after - before) > 1e-6, axis=1))
        assert len(changed) == 2 and changed[1] == changed[0] + 1
        i, j = changed
        c, s = np.cos(0.3), np.sin(0.3)
        np.testing.assert_allclose(after[i], c * before[i] - s * before[j], atol=1e-5)
        np.testing.assert_allclose(after[j], s * before[i] + c * before[j], atol=1e-5)
        np.testing.assert_allclose(
            np.linalg.norm(after, axis=0), np.linalg.norm(before, axis=0), rtol=1e-5
        )


def test_rewards_are_linear_plus_additive_and_optimum_helpers():
    env = _env(batch=5, additive_scale=0.0)
    dynamics = env.environment_dynamics
    observation = env.reset().observation
    reward = env.step(tf.constant([0, 1, 2, 3, 0])).reward.numpy()
    matrix = dynamics._current_observation_to_reward.numpy()
    all_rewards = observation.numpy() @ matrix
    np.testing.assert_allclose(
        reward, all_rewards[np.arange(5), [0, 1, 2, 3, 0]], rtol=1e-5
    )
    np.testing.assert_allclose(
        dynamics.compute_optimal_reward(observation).numpy(),
        all_rewards.max(1),
        rtol=1e-5,
    )
    best = environment_utilities.compute_optimal_action_with_environment_dynamics(
        observation, dynamics
    )
    assert best.dtype == tf.int32
    np.testing.assert_array_equal(best.numpy(), all_rewards.argmax(1))
    np.testing.assert_allclose(
        environment_utilities.compute_optimal_reward_with_environment_dynamics(
            observation, dynamics
        ).numpy(),
        all_rewards.max(1),
        rtol=1e-5,
    )


def test_one_dimensional_contexts_do_not_rotate():
    env = _env(dim=1)
    before = env.environment_dynamics._current_observation_to_reward.numpy()
    env.reset()
    env.step(tf.zeros([2], tf.int32))
    np.testing.assert_array_equal(
        env.environment_dynamics._current_observation_to_reward.numpy(), before
    )


def test_bad_input():
    normal = tfd.Normal
    with pytest.raises(
        ValueError,
        match="`observation_distribution` must have a fully known batch shape with length 2",
    ):
        dle.DriftingLinearEnvironment(
            normal(tf.zeros([3]), 1.0),
            normal(tf.zeros([3, 2]), 1.0),
            tfd.Deterministic(0.1),
            normal(tf.zeros([2]), 1.0),
        )
    with pytest.raises(
        ValueError,
        match=r"must have batch shape \[observation_dim, num_actions\] = \[3, 2\]; got \(3, 5\)",
    ):
        dle.DriftingLinearEnvironment(
            normal(tf.zeros([1, 3]), 1.0),
            normal(tf.zeros([3, 5]), 1.0),
            tfd.Deterministic(0.1),
            normal(tf.zeros([2]), 1.0),
        )
    with pytest.raises(
        ValueError, match="`drift_distribution` must be a scalar distribution"
    ):
        dle.DriftingLinearEnvironment(
            normal(tf.zeros([1, 3]), 1.0),
            normal(tf.zeros([3, 2]), 1.0),
            tfd.Deterministic([0.1, 0.2]),
            normal(tf.zeros([2]), 1.0),
        )
    with pytest.raises(
        ValueError, match="`additive_reward_distribution` must have dtype float32"
    ):
        dle.DriftingLinearEnvironment(
            normal(tf.zeros([1, 3]), 1.0),
            normal(tf.zeros([3, 2]), 1.0),
            tfd.Deterministic(0.1),
            normal(tf.zeros([2], tf.float64), 1.0),
        )
