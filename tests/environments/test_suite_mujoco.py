"""suite_mujoco: suite_gym with float32 observations; any Gymnasium id loads."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from policylib.environments import suite_mujoco, wrappers
from policylib.environments.gym_wrapper import gymnasium
from policylib.errors import UnknownEnvironmentError
from policylib.specs import array_spec


def test_classic_control_env_loads_with_float32_observations() -> None:
    env = suite_mujoco.load("Pendulum-v1", discount=0.5, max_episode_steps=3)
    assert env.observation_spec().dtype == np.float32
    assert env.action_spec().shape == (1,)
    env.seed(0)
    time_step = env.reset()
    steps = 0
    while not time_step.is_last():
        time_step = env.step(np.zeros((1,), np.float32))
        steps += 1
    assert steps == 3
    assert time_step.observation.dtype == np.float32
    assert float(time_step.discount) == 0.5


def test_spec_dtype_map_and_wrappers_are_passed_on() -> None:
    env = suite_mujoco.load(
        "Pendulum-v1",
        spec_dtype_map={gymnasium.spaces.Box: np.float64},
        env_wrappers=(wrappers.FlattenObservationsWrapper,),
    )
    assert isinstance(env, wrappers.FlattenObservationsWrapper)
    spec = env.observation_spec()
    assert isinstance(spec, array_spec.ArraySpec)
    assert spec.dtype == np.float64


def test_unknown_id_is_reported() -> None:
    with pytest.raises(UnknownEnvironmentError, match="NoSuchEnv-v0"):
        suite_mujoco.load("NoSuchEnv-v0")


def test_is_available_follows_the_mujoco_package() -> None:
    assert suite_mujoco.is_available() == (
        importlib.util.find_spec("mujoco") is not None
    )


needs_mujoco = pytest.mark.skipif(
    not suite_mujoco.is_available(), reason="the mujoco extra is not installed"
)


@needs_mujoco
def test_mujoco_py_ids_load_gymnasiums_current_version() -> None:
    assert suite_mujoco.current_version("HalfCheetah-v2") == "HalfCheetah-v5"
    assert suite_mujoco.current_version("Hopper-v3") == "Hopper-v5"
    assert suite_mujoco.current_version("HalfCheetah-v4") == "HalfCheetah-v4"
    assert suite_mujoco.current_version("Pendulum-v1") == "Pendulum-v1"
    env = suite_mujoco.load("HalfCheetah-v2")
    assert isinstance(env, wrappers.TimeLimit)
    assert env.observation_spec().shape == (17,)
    assert env.observation_spec().dtype == np.float32
    assert env.action_spec().shape == (6,)
    assert env.gym.spec.id == "HalfCheetah-v5"
    env.seed(3)
    first = env.reset()
    step = env.step(np.zeros((6,), np.float32))
    assert first.is_first() and step.is_mid()
    assert np.isfinite(step.reward)
    env.close()


@needs_mujoco
def test_mujoco_episodes_repeat_under_a_seed() -> None:
    def run() -> list[float]:
        env = suite_mujoco.load("Hopper-v5", max_episode_steps=20)
        env.seed(7)
        rng = np.random.default_rng(0)
        rewards = []
        time_step = env.reset()
        while not time_step.is_last():
            action = rng.uniform(-1, 1, (3,)).astype(np.float32)
            time_step = env.step(action)
            rewards.append(float(time_step.reward))
        env.close()
        return rewards

    assert run() == run()
