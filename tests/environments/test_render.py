"""`render()` on `suite_gym` environments returns frames as TF-Agents' does.

Gymnasium fixes the render mode at `make`; `suite_gym.load` makes an
environment that can render 'rgb_array' with that mode unless the caller
chose one, and every wrapper passes `render` through.
"""

from __future__ import annotations

import functools

import gymnasium
import numpy as np
import pytest

from policylib.environments import (
    batched_py_environment,
    parallel_py_environment,
    suite_gym,
    suite_gymnasium,
    wrappers,
)

CARTPOLE_FRAME = (400, 600, 3)


class _NoRenderEnv(gymnasium.Env):
    """Declares no render modes, so `load` must not ask for one."""

    metadata: dict = {"render_modes": []}
    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gymnasium.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, False, {}


gymnasium.register("PolicylibNoRender-v0", entry_point=_NoRenderEnv)


def _frame_is_rgb(frame, shape=CARTPOLE_FRAME) -> None:
    frame = np.asarray(frame)
    assert frame.shape == shape and frame.dtype == np.uint8
    assert frame.max() > frame.min()  # A drawn picture, not a blank buffer.


def test_cartpole_renders_an_rgb_frame_by_default() -> None:
    env = suite_gym.load("CartPole-v1", seed=0)
    env.reset()
    _frame_is_rgb(env.render())
    _frame_is_rgb(env.render("rgb_array"))
    assert env.gym.render_mode == "rgb_array"


def test_the_frame_follows_the_state() -> None:
    env = suite_gym.load("CartPole-v1", seed=0)
    env.reset()
    first = env.render()
    for _ in range(5):
        env.step(np.int64(1))
    assert not np.array_equal(first, env.render())


def test_a_chosen_render_mode_is_honoured() -> None:
    none = suite_gym.load("CartPole-v1", gym_kwargs={"render_mode": None})
    assert none.gym.render_mode is None
    ansi = suite_gymnasium.load("FrozenLake-v1", gym_kwargs={"render_mode": "ansi"})
    ansi.reset()
    assert ansi.gym.render_mode == "ansi"
    assert isinstance(ansi.render("ansi"), str)


def test_a_mode_the_env_was_not_made_with_is_a_clear_error() -> None:
    env = suite_gym.load("CartPole-v1", gym_kwargs={"render_mode": None})
    env.reset()
    with pytest.raises(ValueError, match=r"made with render_mode=None.*'rgb_array'"):
        env.render()
    rgb = suite_gym.load("CartPole-v1")
    rgb.reset()
    with pytest.raises(ValueError, match=r"mode 'human'.*render_mode='rgb_array'"):
        rgb.render("human")


def test_an_env_without_rgb_array_is_made_as_before() -> None:
    env = suite_gym.load("PolicylibNoRender-v0")
    assert env.gym.render_mode is None


def test_wrappers_and_batches_pass_render_through() -> None:
    env = suite_gym.load(
        "CartPole-v1",
        seed=0,
        env_wrappers=[functools.partial(wrappers.ActionRepeat, times=2)],
    )
    env.reset()
    _frame_is_rgb(env.render())
    one = batched_py_environment.BatchedPyEnvironment([suite_gym.load("CartPole-v1")])
    one.reset()
    assert one.render().shape == (1, *CARTPOLE_FRAME)
    two = batched_py_environment.BatchedPyEnvironment(
        [suite_gym.load("CartPole-v1") for _ in range(2)]
    )
    two.reset()
    assert two.render().shape == (2, *CARTPOLE_FRAME)


def test_tf_py_environment_renders_a_uint8_tensor() -> None:
    import tensorflow as tf

    from policylib.environments import tf_py_environment

    env = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v1", seed=0))
    env.reset()
    image = env.render()
    assert isinstance(image, tf.Tensor) and image.dtype == tf.uint8
    assert image.shape == (1, *CARTPOLE_FRAME)
    assert int(tf.reduce_max(image)) > int(tf.reduce_min(image))


def test_parallel_environment_renders_each_worker() -> None:
    make = functools.partial(suite_gym.load, "CartPole-v1")
    env = parallel_py_environment.ParallelPyEnvironment([make] * 2)
    try:
        env.reset()
        images = env.render()
        assert images.shape == (2, *CARTPOLE_FRAME) and images.dtype == np.uint8
    finally:
        env.close()
