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
