"""BernoulliPyEnvironment: arm i pays 1 with probability means[i]."""

import numpy as np
import pytest

from policylib.bandits.environments import bernoulli_py_environment


def test_specs_and_observation():
    env = bernoulli_py_environment.BernoulliPyEnvironment([0.2, 0.7, 1.0], batch_size=4)
    assert env.batched and env.batch_size == 4
    assert env.action_spec().maximum == 2
    observation = env.reset().observation
    np.testing.assert_array_equal(observation, np.ones(4, np.float32))


def test_reward_frequencies_match_means():
    env = bernoulli_py_environment.BernoulliPyEnvironment(
        [0.0, 0.3, 1.0], batch_size=1000
    )
    env.reset()
    for arm, mean in enumerate([0.0, 0.3, 1.0]):
        reward = env.step(np.full(1000, arm)).reward
        assert reward.dtype == np.float32
        assert set(np.unique(reward)) <= {0.0, 1.0}
        assert abs(reward.mean() - mean) < 0.05


def test_bad_input():
    with pytest.raises(
        ValueError, match=r"All parameters should be floats in \[0, 1\]"
    ):
        bernoulli_py_environment.BernoulliPyEnvironment([0.5, -0.1])
    with pytest.raises(ValueError, match="non-empty vector"):
        bernoulli_py_environment.BernoulliPyEnvironment([])
    env = bernoulli_py_environment.BernoulliPyEnvironment([0.5, 0.5], batch_size=2)
    env.reset()
    with pytest.raises(ValueError, match="Number of actions must match batch size"):
        env.step([0])
    with pytest.raises(ValueError, match=r"ints in \[0, 1\]"):
        env.step([0, 2])
