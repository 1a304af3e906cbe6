"""py_to_dm_wrapper: a PyEnvironment behind dm_env's interface, and back."""

from __future__ import annotations

import numpy as np
import pytest

dm_env = pytest.importorskip("dm_env")

from policylib.environments import (  # noqa: E402
    batched_py_environment,
    dm_control_wrapper,
    py_to_dm_wrapper,
    suite_gym,
)


def _cartpole():
    env = suite_gym.load("CartPole-v1")
    env.seed(11)
    return env


def test_time_steps_and_specs_follow_dm_env_conventions() -> None:
    env = py_to_dm_wrapper.PyToDMWrapper(_cartpole())
    assert isinstance(env, dm_env.Environment)
    action_spec = env.action_spec()
    assert isinstance(action_spec, dm_env.specs.BoundedArray)
    assert (action_spec.minimum, action_spec.maximum) == (0, 1)
    assert env.observation_spec().shape == (4,)
    first = env.reset()
    assert first.first() and first.reward is None and first.discount is None
    step, steps = first, 0
    while not step.last():
        step = env.step(np.int64(1))  # always right: falls within ~10 steps
        steps += 1
        assert step.reward == 1.0
    assert 5 <= steps < 40
    assert step.discount == 0.0  # a termination, not the time limit
    env.close()


def test_round_trip_through_dm_env_gives_the_same_episode() -> None:
    direct = _cartpole()
    round_trip = dm_control_wrapper.DmEnvWrapper(
        py_to_dm_wrapper.PyToDMWrapper(_cartpole())
    )
    a, b = direct.reset(), round_trip.reset()
    actions = [0, 1, 1, 0, 1, 0, 0, 1] * 3
    for action in actions:
        np.testing.assert_allclose(a.observation, b.observation, rtol=1e-6)
        assert int(a.step_type) == int(b.step_type)
        a, b = direct.step(np.int64(action)), round_trip.step(np.int64(action))
        assert float(a.reward) == float(b.reward)
        assert float(a.discount) == float(b.discount)


def test_batched_environments_are_refused_and_attributes_pass_through() -> None:
    batched = batched_py_environment.BatchedPyEnvironment([_cartpole(), _cartpole()])
    with pytest.raises(NotImplementedError, match="batch_size=2"):
        py_to_dm_wrapper.PyToDMWrapper(batched)
    env = py_to_dm_wrapper.PyToDMWrapper(_cartpole())
    assert env.environment.gym.spec.id == "CartPole-v1"
    assert env.gym.spec.id == "CartPole-v1"  # read through to the environment
