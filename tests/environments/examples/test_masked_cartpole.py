"""MaskedCartPole: CartPole observing only cart position and pole angle."""

from __future__ import annotations

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from policylib.environments import suite_gym  # noqa: E402
from policylib.environments.examples import masked_cartpole  # noqa: E402


@pytest.mark.parametrize(
    ("env_id", "limit", "threshold"),
    [("MaskedCartPole-v0", 200, 195.0), ("MaskedCartPole-v1", 500, 475.0)],
)
def test_ids_are_registered_with_cartpoles_limits(env_id, limit, threshold) -> None:
    spec = gymnasium.spec(env_id)
    assert spec.max_episode_steps == limit and spec.reward_threshold == threshold
    masked_cartpole.register()  # registering again keeps the entry
    assert gymnasium.spec(env_id) is spec


def test_observations_are_cartpoles_position_and_angle() -> None:
    masked = masked_cartpole.MaskedCartPoleEnv()
    full = gymnasium.make("CartPole-v1").unwrapped
    observation, _ = masked.reset(seed=7)
    full_observation, _ = full.reset(seed=7)
    np.testing.assert_array_equal(observation, full_observation[[0, 2]])
    assert observation.dtype == np.float32
    for action in (0, 1, 1, 0):
        observation, reward, terminated, truncated, _ = masked.step(action)
        full_observation, *_ = full.step(action)
        np.testing.assert_array_equal(observation, full_observation[[0, 2]])
        assert masked.observation_space.contains(observation)
    assert masked.observation_space.shape == (2,)
    np.testing.assert_allclose(
        masked.observation_space.high, [4.8, 4 * np.pi * 12 / 360], rtol=1e-6
    )


def test_suite_gym_loads_it_with_a_time_limit() -> None:
    env = suite_gym.load("MaskedCartPole-v1")
    assert env.observation_spec().shape == (2,)
    assert env.action_spec().maximum == 1
    time_step = env.reset()
    steps = 0
    while not time_step.is_last():
        time_step = env.step(np.array(steps % 2, dtype=np.int64))
        steps += 1
    assert 1 <= steps <= 500 and time_step.observation.shape == (2,)
