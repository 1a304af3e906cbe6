"""Gymnasium environments that break their own contract get errors naming the env and step."""

import gymnasium
import numpy as np
import pytest

from policylib.environments import suite_gym


class _Faulty(gymnasium.Env):
    """Well behaved for `good_steps` steps, then breaks in the chosen way."""

    observation_space = gymnasium.spaces.Dict(
        {
            "pos": gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32),
            "n": gymnasium.spaces.Discrete(3),
        }
    )
    action_space = gymnasium.spaces.Discrete(2)

    def __init__(self, fault, good_steps=2):
        self._fault, self._good, self._t = fault, good_steps, 0

    def _obs(self, pos=0.0):
        return {"pos": np.full(2, pos, np.float32), "n": 1}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        if self._fault == "reset_tuple":
            return self._obs()
        return self._obs(), {}

    def step(self, action):
        self._t += 1
        if self._t <= self._good:
            return self._obs(), 1.0, False, False, {}
        if self._fault == "outside":
            return self._obs(pos=3.0), 1.0, False, False, {}
        if self._fault == "nan":
            return self._obs(), float("nan"), False, False, {}
        if self._fault == "old_gym":
            return self._obs(), 1.0, False, {}
        raise AssertionError(self._fault)


@pytest.fixture
def make():
    def make(fault):
        gymnasium.register("Faulty-v0", entry_point=_Faulty, kwargs={"fault": fault})
        try:
            return suite_gym.load("Faulty-v0")
        finally:
            gymnasium.registry.pop("Faulty-v0")

    return make


@pytest.mark.parametrize(
    "fault, message",
    [
        (
            "outside",
            r"Faulty-v0 step 3: observation/pos is outside its declared space Box\(-1\.0, 1\.0, \(2,\), float32\): array\(\[3\., 3\.\]",
        ),
        ("nan", r"Faulty-v0 step 3: the reward is NaN\."),
        (
            "old_gym",
            r"Faulty-v0 step 3: Gymnasium's step returns \(observation, reward, terminated, truncated, info\); got a tuple of 4 \(an environment written for gym < 0\.26\?\)",
        ),
    ],
)
def test_step_faults_name_env_and_step(make, fault, message):
    env = make(fault)
    env.reset()
    env.step(np.int64(0))
    env.step(np.int64(0))
    with pytest.raises(ValueError, match=message):
        env.step(np.int64(0))


def test_reset_fault(make):
    env = make("reset_tuple")
    with pytest.raises(
        ValueError,
        match=r"Faulty-v0 reset: Gymnasium's reset returns \(observation, info\); got a dict",
    ):
        env.reset()


def test_checks_can_be_turned_off():
    env = suite_gym.wrap_env(_Faulty("nan", good_steps=0))
    env.reset()
    with pytest.raises(ValueError, match="_Faulty step 1: the reward is NaN"):
        env.step(np.int64(0))
    from policylib.environments import gym_wrapper

    unchecked = gym_wrapper.GymWrapper(
        _Faulty("outside", good_steps=0), check_values=False
    )
    unchecked.reset()
    assert unchecked.step(np.int64(0)).observation["pos"][0] == 3.0


def test_bounds_alone_can_be_left_unchecked():
    # For environments that break the bounds they declare (PyBullet's robots):
    # the values pass, a wrong shape and a NaN reward are still refused.
    env = suite_gym.wrap_env(
        _Faulty("outside", good_steps=0), check_observation_bounds=False
    )
    env.reset()
    assert env.step(np.int64(0)).observation["pos"].tolist() == [3.0, 3.0]

    class Flat(_Faulty):
        def _obs(self, pos=0.0):
            return {"pos": np.full(3, pos, np.float32), "n": 1}

    env = suite_gym.wrap_env(
        Flat("outside", good_steps=5), check_observation_bounds=False
    )
    with pytest.raises(ValueError, match=r"reset: observation/pos is outside"):
        env.reset()
    env = suite_gym.wrap_env(
        _Faulty("nan", good_steps=0), check_observation_bounds=False
    )
    env.reset()
    with pytest.raises(ValueError, match="the reward is NaN"):
        env.step(np.int64(0))


def test_float64_observations_of_a_float32_box_pass():
    class Doubles(_Faulty):
        def _obs(self, pos=0.0):
            return {"pos": np.full(2, pos, np.float64), "n": 1}

    env = suite_gym.wrap_env(Doubles("outside", good_steps=5))
    env.reset()
    assert env.step(np.int64(0)).observation["pos"].dtype == np.float32


@pytest.mark.parametrize(
    "action, problem",
    [
        (np.int64(5), r"action is 5, outside \[0, 1\]"),
        (np.array([0, 1]), r"action has shape \(2,\), expected \(\)"),
        (None, r"action is None, expected BoundedArraySpec"),
        (np.float32(0.5), r"action has dtype float32, expected integers \(int64\)"),
    ],
)
def test_actions_that_do_not_fit_are_named(action, problem):
    env = suite_gym.load("CartPole-v1")
    env.reset()
    with pytest.raises(
        ValueError,
        match=rf"CartPole-v1 step 1: the action does not fit the action spec: {problem}",
    ):
        env.step(action)
    for fine in (
        np.int32(1),
        1,
        np.array([1]),
    ):  # other integer kinds and a size-1 array pass
        env.step(fine)
    env.close()


def test_continuous_actions_are_not_bound_checked():
    env = suite_gym.load("Pendulum-v1")
    env.reset()
    env.step(np.array([5.0], np.float32))  # Pendulum clips its torque itself
    with pytest.raises(
        ValueError,
        match=r"Pendulum-v1 step 2: .*action has shape \(2,\), expected \(1,\)",
    ):
        env.step(np.array([1.0, 2.0], np.float32))
    env.close()


class _RoundingEnv(gymnasium.Env):
    """Returns float64 observations a rounding error past its float32 bound."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gymnasium.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.array([1.0 + 1e-12, -1.0 - 1e-12]), {}

    def step(self, action):
        return np.array([1.0 + 1e-12, 0.0]), 1.0, False, False, {}


def test_float64_rounding_past_a_float32_bound_fits():
    gymnasium.register("Rounding-v0", entry_point=_RoundingEnv)
    try:
        env = suite_gym.load("Rounding-v0")
    finally:
        gymnasium.registry.pop("Rounding-v0")
    assert env.reset().observation.dtype == np.float32
    assert env.step(np.int64(0)).reward == 1.0


def test_numpy_max_episode_steps_is_taken():
    env = suite_gym.load("CartPole-v1", max_episode_steps=np.int64(3))
    env.reset()
    steps = [env.step(np.int64(0)) for _ in range(3)]
    assert steps[-1].is_last() and not steps[-2].is_last()
