"""Gymnasium spaces -> specs, step semantics and seeding of `GymWrapper`/`suite_gym`."""

import collections

import gymnasium
import numpy as np
import pytest

from policylib.environments import gym_wrapper, suite_gym, suite_gymnasium, wrappers
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from tests.environments.cartpole import EndsEnv

spaces = gymnasium.spaces


def test_box_keeps_dtype_and_simplifies_equal_bounds():
    spec = gym_wrapper.spec_from_gym_space(
        spaces.Box(-2.0, 3.0, (2, 3), np.float64), name="o"
    )
    assert spec == array_spec.BoundedArraySpec((2, 3), np.float64, -2.0, 3.0, name="o")
    assert np.shape(spec.minimum) == ()
    mixed = gym_wrapper.spec_from_gym_space(
        spaces.Box(np.array([0.0, -1.0], np.float32), np.array([1.0, 1.0], np.float32))
    )
    np.testing.assert_array_equal(mixed.minimum, [0.0, -1.0])
    assert np.shape(mixed.maximum) == (2,)


def test_discrete_multidiscrete_multibinary():
    discrete = gym_wrapper.spec_from_gym_space(spaces.Discrete(4, start=2))
    assert (discrete.shape, discrete.dtype, discrete.minimum, discrete.maximum) == (
        (),
        np.int64,
        2,
        5,
    )
    multi = gym_wrapper.spec_from_gym_space(spaces.MultiDiscrete([3, 5]))
    assert multi.dtype == np.int32 and multi.shape == (2,)
    np.testing.assert_array_equal(multi.maximum, [2, 4])
    binary = gym_wrapper.spec_from_gym_space(spaces.MultiBinary([2, 3]))
    assert (binary.shape, binary.dtype, binary.minimum, binary.maximum) == (
        (2, 3),
        np.int32,
        0,
        1,
    )
    mapped = gym_wrapper.spec_from_gym_space(
        spaces.Discrete(3), dtype_map={spaces.Discrete: np.int32}
    )
    assert mapped.dtype == np.int32


def test_dict_and_tuple_nest_with_joined_names():
    space = spaces.Dict(
        {
            "pos": spaces.Box(-1, 1, (2,), np.float32),
            "parts": spaces.Tuple((spaces.Discrete(2), spaces.MultiBinary(3))),
        }
    )
    spec = gym_wrapper.spec_from_gym_space(space, name="observation")
    assert isinstance(spec, collections.OrderedDict)
    assert spec["pos"].name == "observation/pos"
    assert isinstance(spec["parts"], tuple)
    assert spec["parts"][1].name == "observation/parts/tuple_1"
    assert spec["parts"][1].shape == (3,)


def test_unsupported_space_is_named():
    with pytest.raises(ValueError, match="Text"):
        gym_wrapper.spec_from_gym_space(spaces.Text(5))


def test_terminated_gives_discount_zero():
    env = gym_wrapper.GymWrapper(EndsEnv(terminate_at=2), discount=0.9)
    first = env.reset()
    assert first.is_first() and first.discount == 1.0
    mid = env.step(np.array(1))
    assert mid.step_type == ts.StepType.MID and mid.discount == np.float32(0.9)
    last = env.step(np.array(0))
    assert last.is_last() and last.discount == 0.0 and last.reward == 1.0
    assert env.get_info() == {"t": 2}
    # Discrete actions reach Gymnasium as Python ints, start offset kept.
    assert env.gym.unwrapped.actions == [1, 0]
    assert env.step(np.array(0)).is_first()  # auto reset


def test_truncated_keeps_discount():
    env = gym_wrapper.GymWrapper(EndsEnv(truncate_at=1), discount=0.9)
    env.reset()
    last = env.step(np.array(-1))
    assert last.is_last() and last.discount == np.float32(0.9)


def test_time_limit_is_a_truncation():
    env = wrappers.TimeLimit(gym_wrapper.GymWrapper(EndsEnv()), duration=3)
    env.reset()
    steps = [env.step(np.array(0)) for _ in range(3)]
    assert [int(s.step_type) for s in steps] == [1, 1, 2]
    assert steps[-1].discount == 1.0


def test_load_cartpole_specs_and_limit():
    env = suite_gym.load("CartPole-v1")
    assert isinstance(env, wrappers.TimeLimit) and env.duration == 500
    assert env.observation_spec().shape == (4,)
    assert env.observation_spec().dtype == np.float32
    assert env.action_spec() == array_spec.BoundedArraySpec(
        (), np.int64, 0, 1, name="action"
    )
    short = suite_gymnasium.load("CartPole-v1", max_episode_steps=5)
    short.reset()
    steps = [short.step(np.array(i % 2)) for i in range(5)]
    assert steps[-1].is_last()


def _first_observations(env, episodes):
    observations = []
    time_step = env.reset()
    while len(observations) < episodes:
        if time_step.is_first():
            observations.append(time_step.observation.copy())
        time_step = env.step(np.array(0))
    return observations


def test_seed_repeats_episodes():
    a = _first_observations(suite_gym.load("CartPole-v1", seed=11), 3)
    b = _first_observations(suite_gym.load("CartPole-v1", seed=11), 3)
    c = _first_observations(suite_gym.load("CartPole-v1", seed=12), 3)
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert not np.allclose(a[0], c[0])
    assert not np.allclose(a[0], a[1])  # later resets continue the stream


def test_render_mode_mismatch_explains_fix():
    env = suite_gym.load("CartPole-v1", gym_kwargs={"render_mode": None})
    env.reset()
    with pytest.raises(ValueError, match="render_mode"):
        env.render("rgb_array")


def test_a_gym_0_26_environment_is_wrapped_with_its_spaces_read_as_gymnasiums():
    """Users still hold gym 0.26 environments (TF-Agents' tests build them)."""
    gym = pytest.importorskip("gym")
    # gym's own step checker calls np.bool8, which NumPy 2 removed.
    env = gym_wrapper.GymWrapper(gym.make("CartPole-v1", disable_env_checker=True))
    assert env.action_spec() == array_spec.BoundedArraySpec(
        (), np.int64, 0, 1, name="action"
    )
    assert env.observation_spec().shape == (4,)
    env.seed(3)
    first = env.reset()
    assert first.is_first()
    step = env.step(np.array(1, np.int64))
    assert step.reward == 1.0 and step.observation.shape == (4,)
    dict_space = gym.spaces.Dict(
        {"k": gym.spaces.MultiDiscrete([3, 4]), "b": gym.spaces.MultiBinary(2)}
    )
    spec = gym_wrapper.spec_from_gym_space(
        dict_space, dtype_map={gym.spaces.MultiDiscrete: np.int64}
    )
    assert spec["k"].dtype == np.int64 and spec["k"].maximum.tolist() == [2, 3]
    assert spec["b"].shape == (2,)
