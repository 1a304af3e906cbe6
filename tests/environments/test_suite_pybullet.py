"""suite_pybullet: Bullet tasks through their Gymnasium port, PyBullet's own robots
through gym 0.26's compatibility wrapper."""

from __future__ import annotations

import importlib.util

import gin
import numpy as np
import pytest

from policylib.environments import suite_pybullet, wrappers
from policylib.errors import UnknownEnvironmentError

pytestmark = pytest.mark.skipif(
    not suite_pybullet.is_available(), reason="the pybullet extra is not installed"
)


def _episode_rewards(env, steps: int) -> list[float]:
    env.seed(5)
    time_step = env.reset()
    assert time_step.is_first()
    rewards = []
    rng = np.random.default_rng(0)
    spec = env.action_spec()
    for _ in range(steps):
        action = rng.uniform(spec.minimum, spec.maximum, spec.shape).astype(spec.dtype)
        time_step = env.step(action)
        rewards.append(float(time_step.reward))
        if time_step.is_last():
            break
    return rewards


def test_gymnasium_port_loads_with_its_time_limit() -> None:
    env = suite_pybullet.load("InvertedPendulumBulletEnv-v0")
    assert isinstance(env, wrappers.TimeLimit)
    assert env.observation_spec().shape == (5,)
    assert env.action_spec().shape == (1,)
    assert env._duration == 1000
    first = _episode_rewards(env, 30)
    assert first == _episode_rewards(env, 30)  # seeded resets repeat
    env.close()


@pytest.mark.skipif(importlib.util.find_spec("gym") is None, reason="gym 0.26 missing")
def test_minitaur_loads_from_pybullets_own_envs() -> None:
    env = suite_pybullet.load("MinitaurBulletEnv-v0", max_episode_steps=12)
    assert isinstance(env, wrappers.TimeLimit)
    assert env.observation_spec().shape == (28,)
    assert env.action_spec().shape == (8,)
    assert env.action_spec().dtype == np.float32
    rewards = _episode_rewards(env, 20)
    assert len(rewards) == 12  # the limit ends the episode
    assert all(np.isfinite(rewards))
    env.close()


@pytest.mark.skipif(importlib.util.find_spec("gym") is None, reason="gym 0.26 missing")
def test_minitaur_runs_past_the_bounds_it_declares() -> None:
    # PyBullet's Minitaur declares motor angles within ±π and reports more: a
    # constant action (as an untrained greedy policy gives; TF-Agents' tutorial
    # 7 met it in its first evaluation) passes them within ten steps. Its
    # episodes run on, as in TF-Agents.
    env = suite_pybullet.load("MinitaurBulletEnv-v0", max_episode_steps=30)
    spec = env.observation_spec()
    env.seed(0)
    env.reset()
    action = np.array([-1.0] * 8, np.float32)
    outside = 0
    for _ in range(30):
        observation = env.step(action).observation
        outside += int(
            (observation < spec.minimum).any() or (observation > spec.maximum).any()
        )
    assert outside > 0  # the case is exercised, not merely allowed
    env.close()


def test_minitaur_renders_a_frame_and_takes_constructor_kwargs() -> None:
    # TF-Agents' tutorial 7: `PIL.Image.fromarray(env.render())` after a reset.
    env = suite_pybullet.load("MinitaurBulletEnv-v0")
    env.reset()
    frame = np.asarray(env.render())
    assert frame.ndim == 3 and frame.shape[-1] == 3 and frame.dtype == np.uint8
    assert frame.max() > frame.min()
    env.close()
    # gym_kwargs reach the robot's constructor; a chosen render mode is kept.
    env = suite_pybullet.load(
        "MinitaurBulletEnv-v0",
        gym_kwargs={"distance_limit": 0.5, "render_mode": None},
    )
    assert env.gym.env._distance_limit == 0.5  # behind gym's EnvCompatibility
    with pytest.raises(ValueError, match="render_mode=None"):
        env.render()
    env.close()


def test_unknown_ids_name_close_matches() -> None:
    with pytest.raises(UnknownEnvironmentError, match="MinitaurBulletEnv-v0"):
        suite_pybullet.load("MinitaurBulletEnv-v9")
    with pytest.raises(UnknownEnvironmentError, match="HopperBulletEnv"):
        suite_pybullet.load("HoperBulletEnv-v0")


def test_gin_config_loads_the_bound_environment() -> None:
    path = suite_pybullet.__file__.replace(
        "suite_pybullet.py", "configs/suite_pybullet.gin"
    )
    try:
        gin.parse_config_file(path)
        env = suite_pybullet.load()
        assert isinstance(env, wrappers.TimeLimit)
        assert env.observation_spec().shape == (5,)
    finally:
        gin.clear_config()
