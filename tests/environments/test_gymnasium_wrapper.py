"""TF-Agents' newer Gymnasium API: `gymnasium_wrapper` names and `suite_gymnasium.load`."""

from __future__ import annotations

import gymnasium
import numpy as np

from policylib.environments import gymnasium_wrapper, suite_gymnasium, wrappers
from policylib.specs import array_spec


def test_wrapper_reports_terminated_and_truncated() -> None:
    env = gymnasium_wrapper.GymnasiumWrapper(gymnasium.make("CartPole-v1"))
    env.seed(0)
    time_step = env.reset()
    assert not env.terminated and not env.truncated
    while not time_step.is_last():  # always pushing left: the pole falls
        time_step = env.step(np.array(0))
    assert env.terminated and not env.truncated and time_step.discount == 0.0

    short = gymnasium_wrapper.GymnasiumWrapper(
        gymnasium.make("CartPole-v1", max_episode_steps=2), discount=0.9
    )
    short.seed(0)
    short.reset()
    short.step(np.array(0))
    time_step = short.step(np.array(1))
    assert time_step.is_last() and short.truncated and not short.terminated
    np.testing.assert_allclose(time_step.discount, 0.9)
    short.reset()
    assert not short.truncated


def test_wrapper_keeps_the_environment_and_forwards_attributes() -> None:
    made = gymnasium.make("CartPole-v1")
    env = gymnasium_wrapper.GymnasiumWrapper(made, auto_reset=False)
    assert env.gym is made
    assert env.spec.id == "CartPole-v1"  # forwarded to the Gymnasium env
    assert env.action_spec() == array_spec.BoundedArraySpec(
        (), np.int64, 0, 1, "action"
    )


def test_spec_from_gym_space_takes_the_newer_argument_order() -> None:
    box = gymnasium.spaces.Box(0.0, 1.0, (2,), np.float32)
    spec = gymnasium_wrapper.spec_from_gym_space(box, True, "obs")
    assert isinstance(spec, array_spec.BoundedArraySpec)
    assert spec == array_spec.BoundedArraySpec((2,), np.float32, 0.0, 1.0, "obs")
    assert spec.minimum.shape == ()
    unsimplified = gymnasium_wrapper.spec_from_gym_space(box, False)
    assert isinstance(unsimplified, array_spec.BoundedArraySpec)
    assert unsimplified.minimum.shape == (2,)


def test_load_takes_the_newer_signature_and_render_mode_in_render_kwargs() -> None:
    env = suite_gymnasium.load(
        "FrozenLake-v1",
        0.99,
        7,
        (),
        (lambda e: wrappers.ActionRepeat(e, 2),),
        gym_kwargs={"is_slippery": False},
        render_kwargs={"render_mode": "ansi"},
    )
    assert isinstance(env, wrappers.ActionRepeat)
    assert isinstance(env.wrapped_env(), wrappers.TimeLimit)
    assert env.gym.render_mode == "ansi"
    env.reset()
    assert isinstance(env.render("ansi"), str)
    # An explicit gym_kwargs render mode wins over render_kwargs.
    chosen = suite_gymnasium.load(
        "CartPole-v1",
        gym_kwargs={"render_mode": None},
        render_kwargs={"render_mode": "rgb_array"},
    )
    assert chosen.gym.render_mode is None
