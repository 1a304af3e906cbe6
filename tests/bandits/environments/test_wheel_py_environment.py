"""WheelPyEnvironment: arm 0 inside radius delta, the quadrant arm outside."""

import numpy as np
import pytest

from policylib.bandits.environments import wheel_py_environment as wheel

MU_BASE = [1.2, 1.0, 1.1, 0.9, 1.0]


def _env(batch_size=None, delta=0.5):
    return wheel.WheelPyEnvironment(delta, MU_BASE, np.zeros(5), 50.0, 0.0, batch_size)


def test_optimal_action_and_reward_per_region():
    observation = np.array(
        [[0.1, -0.1], [0.6, 0.6], [0.6, -0.6], [-0.6, 0.6], [-0.6, -0.6], [0.0, 0.9]]
    )
    np.testing.assert_array_equal(
        wheel.compute_optimal_action(observation, 0.5), [0, 1, 2, 3, 4, 1]
    )
    reward = wheel.compute_optimal_reward(observation, 0.5, 1.2, 50.0)
    assert reward.dtype == np.float32
    np.testing.assert_allclose(reward, [1.2, 50, 50, 50, 50, 50], rtol=1e-6)


def test_observations_fill_the_unit_disc():
    env = _env(batch_size=2000)
    assert env.batch_size == 2000 and env.name == "wheel"
    observation = env.reset().observation
    assert observation.shape == (2000, 2) and observation.dtype == np.float32
    radius = np.linalg.norm(observation, axis=1)
    assert radius.max() <= 1.0
    # Uniform in the disc: a quarter of the points lie within radius 0.5.
    assert abs(np.mean(radius <= 0.5) - 0.25) < 0.04
    assert _env().batch_size == 1


def test_rewards_are_the_noise_free_means():
    env = _env(batch_size=500)
    observation = env.reset().observation
    best = wheel.compute_optimal_action(observation, 0.5)
    reward = env.step(best).reward
    np.testing.assert_allclose(
        reward, wheel.compute_optimal_reward(observation, 0.5, 1.2, 50.0), rtol=1e-6
    )
    observation = env.current_time_step().observation
    inside = np.linalg.norm(observation, axis=1) <= 0.5
    reward = env.step(np.full(500, 2)).reward
    quadrant = wheel.compute_optimal_action(observation, 0.0)
    expected = np.where(~inside & (quadrant == 2), 50.0, 1.1)
    np.testing.assert_allclose(reward, expected, rtol=1e-6)


def test_bad_input():
    with pytest.raises(
        ValueError, match=r"Delta must be in \(0, 1\), but saw delta: 1"
    ):
        _env(delta=1.0)
    with pytest.raises(ValueError, match="The length of 'mu_base' must be 5, but saw"):
        wheel.WheelPyEnvironment(0.5, [1.0] * 4, np.ones(5), 2.0, 0.1)
    with pytest.raises(
        ValueError, match=r"The length of 'std_base' must be 5\. Got shape \(3,\)"
    ):
        wheel.WheelPyEnvironment(0.5, MU_BASE, np.ones(3), 2.0, 0.1)
    with pytest.raises(
        ValueError, match="first action in mu_base should have the highest"
    ):
        wheel.WheelPyEnvironment(0.5, [1.0, 2.0, 1.0, 1.0, 1.0], np.ones(5), 2.0, 0.1)
