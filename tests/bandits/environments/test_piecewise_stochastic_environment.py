"""PiecewiseStochasticEnvironment: reward parameters redrawn piece by piece."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.environments import piecewise_stochastic_environment as pse

tfd = tfp.distributions


def _env(batch, interval):
    return pse.PiecewiseStochasticEnvironment(
        tfd.Normal(tf.zeros([batch, 2]), tf.ones([batch, 2])),
        tfd.Deterministic(interval),
        tfd.Normal(tf.zeros([2, 3]), tf.ones([2, 3])),
        tfd.Normal(tf.zeros([3]), tf.ones([3])),
    )


def test_parameters_change_exactly_when_a_piece_ends():
    env = _env(batch=2, interval=5)
    dynamics = env.environment_dynamics
    assert env.action_spec().maximum == 2
    env.reset()
    changes = []
    for _ in range(8):
        before = dynamics._current_observation_to_reward.numpy()
        env.step(tf.zeros([2], tf.int32))
        after = dynamics._current_observation_to_reward.numpy()
        changes.append(not np.allclose(before, after))
    # Steps run at times 0, 2, 4, ...: the piece ending at 5 is replaced at
    # time 6, the next (ending at 10) at time 10.
    assert changes == [False, False, False, True, False, True, False, False]
    assert dynamics._current_interval.numpy() == 15


def test_rewards_use_the_current_piece():
    env = _env(batch=4, interval=100)
    dynamics = env.environment_dynamics
    observation = env.reset().observation.numpy()
    reward = env.step(tf.constant([0, 1, 2, 1])).reward.numpy()
    all_rewards = (
        observation @ dynamics._current_observation_to_reward.numpy()
        + dynamics._current_additive_reward.numpy()
    )
    np.testing.assert_allclose(
        reward, all_rewards[np.arange(4), [0, 1, 2, 1]], rtol=1e-5
    )


def test_bad_input():
    with pytest.raises(
        ValueError, match="`interval_distribution` must be a scalar distribution"
    ):
        pse.PiecewiseStochasticEnvironment(
            tfd.Normal(tf.zeros([1, 2]), 1.0),
            tfd.Deterministic([3.0, 4.0]),
            tfd.Normal(tf.zeros([2, 3]), 1.0),
            tfd.Normal(tf.zeros([3]), 1.0),
        )
    with pytest.raises(
        ValueError,
        match="`additive_reward_distribution` must have a fully known batch shape with length 1",
    ):
        pse.PiecewiseStochasticEnvironment(
            tfd.Normal(tf.zeros([1, 2]), 1.0),
            tfd.Deterministic(3.0),
            tfd.Normal(tf.zeros([2, 3]), 1.0),
            tfd.Normal(tf.zeros([1, 3]), 1.0),
        )
