"""RandomBanditEnvironment: contexts and rewards drawn from distributions."""

import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.environments import random_bandit_environment

tfd = tfp.distributions


def test_specs_and_draws():
    env = random_bandit_environment.RandomBanditEnvironment(
        tfd.Independent(tfd.Normal(tf.fill([500, 3], 2.0), tf.ones([500, 3]))),
        tfd.Normal(tf.fill([500], -1.0), 0.5 * tf.ones([500])),
    )
    assert env.batch_size == 500
    assert env.observation_spec().shape == (3,)
    assert env.action_spec() is None
    observation = env.reset().observation.numpy()
    assert observation.shape == (500, 3)
    assert abs(observation.mean() - 2.0) < 0.1
    reward = env.step(tf.zeros([500], tf.int32)).reward.numpy()
    assert reward.shape == (500,)
    assert abs(reward.mean() + 1.0) < 0.1 and abs(reward.std() - 0.5) < 0.1


def test_bad_input():
    ok_observation = tfd.Independent(tfd.Normal(tf.zeros([4, 2]), 1.0))
    ok_reward = tfd.Normal(tf.zeros([4]), 1.0)
    env = random_bandit_environment.RandomBanditEnvironment
    with pytest.raises(
        ValueError,
        match=r"`observation_distribution` must have batch shape with length 1 .*got \(4, 2\)",
    ):
        env(tfd.Normal(tf.zeros([4, 2]), 1.0), ok_reward)
    with pytest.raises(
        ValueError, match="`reward_distribution` must have batch shape with length 1"
    ):
        env(ok_observation, tfd.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match=r"must have event_shape \(\); got \(3,\)"):
        env(ok_observation, tfd.Independent(tfd.Normal(tf.zeros([4, 3]), 1.0)))
    with pytest.raises(
        ValueError, match="must have dtype float32; got <dtype: 'float64'>"
    ):
        env(ok_observation, tfd.Normal(tf.zeros([4], tf.float64), 1.0))
    with pytest.raises(ValueError, match=r"same batch shape; got \(5,\) and \(4,\)"):
        env(ok_observation, tfd.Normal(tf.zeros([5]), 1.0))
