"""suite_dm_control and DmControlWrapper: dm_env specs and time steps as policylib's."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from policylib.base.extras import MissingExtraError
from policylib.environments import (
    _headless_gl,
    dm_control_wrapper,
    suite_dm_control,
    tf_py_environment,
    utils,
    wrappers,
)
from policylib.errors import UnknownEnvironmentError
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts

dm_env = pytest.importorskip("dm_env")
specs = dm_env.specs
_DmEnvironment: Any = dm_env.Environment

needs_dm_control = pytest.mark.skipif(
    not suite_dm_control.is_available(), reason="the dm-control extra is not installed"
)

# ball_in_cup's control step is 0.02 s, so a 0.1 s time limit is 5 steps.
SHORT = {"time_limit": 0.1}


class _Countdown(_DmEnvironment):
    """A dm_env environment that terminates after `length` steps (float64 values)."""

    def __init__(self, length: int = 3):
        self._length = length
        self._t = 0
        self._reset_next_step = True
        self.actions: list[Any] = []

    def reset(self) -> Any:
        self._t = 0
        self._reset_next_step = False
        return dm_env.restart(np.zeros((2,), np.float64))

    def step(self, action: Any) -> Any:
        if self._reset_next_step:
            return self.reset()
        self.actions.append(action)
        self._t += 1
        observation = np.full((2,), self._t, np.float64)
        if self._t == self._length:
            self._reset_next_step = True
            return dm_env.termination(1.5, observation)
        return dm_env.transition(0.5, observation)

    def observation_spec(self) -> Any:
        return specs.Array((2,), np.float64, name="obs")

    def action_spec(self) -> Any:
        return specs.DiscreteArray(num_values=3, name="action")


def test_convert_spec_narrows_float64_and_keeps_bounds() -> None:
    bounded = dm_control_wrapper.convert_spec(
        specs.BoundedArray((2,), np.float64, [-1.0, -1e300], [1.0, 2.0], name="a")
    )
    assert isinstance(bounded, array_spec.BoundedArraySpec)
    assert bounded.dtype == np.float32 and bounded.shape == (2,)
    assert bounded.name == "a"
    np.testing.assert_array_equal(bounded.maximum, [1.0, 2.0])
    assert bounded.minimum[1] == np.finfo(np.float32).min

    discrete = dm_control_wrapper.convert_spec(specs.DiscreteArray(4))
    assert isinstance(discrete, array_spec.BoundedArraySpec)
    assert discrete.dtype == np.int32
    assert (int(discrete.minimum), int(discrete.maximum)) == (0, 3)

    plain = dm_control_wrapper.convert_spec(specs.Array((3, 4), np.uint8, "pixels"))
    assert type(plain) is array_spec.ArraySpec
    assert (plain.shape, plain.dtype, plain.name) == ((3, 4), np.uint8, "pixels")


def test_wrapper_steps_first_mid_last_with_termination_discount() -> None:
    raw = _Countdown(length=3)
    env = dm_control_wrapper.DmEnvWrapper(raw)
    assert env.observation_spec() == array_spec.ArraySpec((2,), np.float32, "obs")
    assert env.reward_spec() == array_spec.ArraySpec((), np.float32, "reward")

    first = env.step(np.int64(1))  # Before any reset: resets, ignores the action.
    assert first.step_type == ts.StepType.FIRST
    assert float(first.reward) == 0.0 and float(first.discount) == 1.0
    assert first.observation.dtype == np.float32
    assert raw.actions == []

    mid = env.step(np.array([2]))  # A (1,) action fits the scalar spec.
    assert mid.step_type == ts.StepType.MID
    assert float(mid.reward) == 0.5 and float(mid.discount) == 1.0
    assert mid.reward.dtype == np.float32 and mid.discount.dtype == np.float32
    assert raw.actions[-1].dtype == np.int32 and raw.actions[-1].shape == ()

    env.step(0)
    last = env.step(0)
    assert last.step_type == ts.StepType.LAST
    assert float(last.discount) == 0.0 and float(last.reward) == 1.5
    np.testing.assert_array_equal(last.observation, [3.0, 3.0])
    assert env.step(0).step_type == ts.StepType.FIRST
    assert len(raw.actions) == 3

    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        env.step(np.array([1, 1]))


def test_generic_wrapper_has_no_render_seed_or_state() -> None:
    env = dm_control_wrapper.DmEnvWrapper(_Countdown())
    for call in (env.render, lambda: env.seed(0), env.get_state, env.get_info):
        with pytest.raises(NotImplementedError):
            call()


@needs_dm_control
def test_specs_come_from_the_dm_env_specs() -> None:
    env = suite_dm_control.load("ball_in_cup", "catch")
    assert isinstance(env, dm_control_wrapper.DmControlWrapper)
    action = env.action_spec()
    assert isinstance(action, array_spec.BoundedArraySpec)
    assert (action.shape, action.dtype) == ((2,), np.float32)
    np.testing.assert_array_equal(action.minimum, [-1.0, -1.0])
    np.testing.assert_array_equal(action.maximum, [1.0, 1.0])
    observation = env.observation_spec()
    assert isinstance(observation, dict)
    assert list(observation) == ["position", "velocity"]
    for spec in observation.values():
        assert (spec.shape, spec.dtype) == ((4,), np.float32)
    assert env.discount_spec() == array_spec.BoundedArraySpec(
        (), np.float32, 0.0, 1.0, "discount"
    )
    time_step = env.reset()
    array_spec.assert_arrays_spec_nest(time_step.observation, observation)
    assert env.physics is env.wrapped_env().physics  # type: ignore[attr-defined]


@needs_dm_control
def test_time_limit_ends_with_discount_one_then_resets() -> None:
    env = suite_dm_control.load("ball_in_cup", "catch", task_kwargs=dict(SHORT))
    time_step = env.reset()
    assert time_step.is_first()
    kinds = []
    while not time_step.is_last():
        time_step = env.step(np.array([1.0, -1.0]))
        kinds.append(int(time_step.step_type))
    assert kinds == [1, 1, 1, 1, 2]
    assert float(time_step.discount) == 1.0  # Truncated, not terminated.
    assert env.step(np.zeros(2)).is_first()


@needs_dm_control
def test_seeding_repeats_episodes() -> None:
    def first_observations(env: Any) -> list[np.ndarray]:
        return [env.reset().observation["position"] for _ in range(2)]

    a = first_observations(suite_dm_control.load("ball_in_cup", "catch", {"random": 3}))
    b = first_observations(suite_dm_control.load("ball_in_cup", "catch", {"random": 3}))
    c = first_observations(suite_dm_control.load("ball_in_cup", "catch", {"random": 4}))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], a[1])  # Episodes differ within a seed.

    env = suite_dm_control.load("ball_in_cup", "catch")
    assert env.seed(3) == 3
    np.testing.assert_array_equal(first_observations(env), a)


@needs_dm_control
def test_unknown_domain_and_task_name_close_matches() -> None:
    with pytest.raises(UnknownEnvironmentError, match="Did you mean 'ball_in_cup'"):
        suite_dm_control.load("ball_incup", "catch")
    with pytest.raises(UnknownEnvironmentError, match="Did you mean 'swingup'"):
        suite_dm_control.load("cartpole", "swingupp")
    with pytest.raises(UnknownEnvironmentError, match="Its tasks: catch"):
        suite_dm_control.load("ball_in_cup", "throw")


@needs_dm_control
def test_wrappers_validation_and_tf_environment() -> None:
    env = suite_dm_control.load(
        "ball_in_cup",
        "catch",
        task_kwargs={"random": 0, **SHORT},
        env_wrappers=(lambda e: wrappers.TimeLimit(e, 3),),
    )
    assert isinstance(env, wrappers.TimeLimit)
    utils.validate_py_environment(env, episodes=2)
    tf_env = tf_py_environment.TFPyEnvironment(env)
    time_step = tf_env.reset()
    assert time_step.observation["position"].shape == (1, 4)
    assert time_step.step_type.numpy().tolist() == [0]


def _render_or_skip(env: Any) -> np.ndarray:
    try:
        return env.render()
    except Exception as error:  # No OpenGL backend works on this machine.
        pytest.skip(f"MuJoCo cannot render here (MUJOCO_GL, EGL/OSMesa): {error}")


@needs_dm_control
def test_render_uses_render_kwargs() -> None:
    env = suite_dm_control.load(
        "ball_in_cup", "catch", render_kwargs={"width": 64, "height": 48}
    )
    env.reset()
    frame = _render_or_skip(env)
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert frame.std() > 0  # A scene, not a blank frame.
    with pytest.raises(ValueError, match="rgb_array"):
        env.render("human")


@needs_dm_control
def test_load_pixels_observes_frames() -> None:
    probe = suite_dm_control.load("ball_in_cup", "catch", render_kwargs={"width": 8})
    _render_or_skip(probe)
    env = suite_dm_control.load_pixels(
        "ball_in_cup",
        "catch",
        pixels_only=False,
        observation_key="frame",
        render_kwargs={"width": 40, "height": 30},
    )
    spec = env.observation_spec()
    assert spec["frame"] == array_spec.ArraySpec((30, 40, 3), np.uint8, "frame")
    assert spec["position"].dtype == np.float32
    time_step = env.step(np.zeros(2))
    array_spec.assert_arrays_spec_nest(time_step.observation, spec)


def test_missing_dm_control_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dm_control.suite", None)
    assert not suite_dm_control.is_available()
    with pytest.raises(MissingExtraError, match=r"policylib\[dm-control\]"):
        suite_dm_control.load("ball_in_cup", "catch")


def test_modules_import_without_dm_control_or_bsuite() -> None:
    code = (
        "import sys\n"
        "for name in ('dm_control', 'dm_env', 'bsuite'): sys.modules[name] = None\n"
        "from policylib.environments import suite_dm_control, suite_bsuite\n"
        "print(suite_dm_control.is_available(), suite_bsuite.is_available())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_headless_backend_is_chosen_only_when_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "dm_control._render", raising=False)
    monkeypatch.setattr(
        _headless_gl.ctypes.util,
        "find_library",
        lambda name: "libOSMesa.so.8" if name == "OSMesa" else None,
    )
    _headless_gl._choose_backend()
    assert _headless_gl.os.environ["MUJOCO_GL"] == "osmesa"

    monkeypatch.setenv("MUJOCO_GL", "glfw")
    _headless_gl._choose_backend()
    assert _headless_gl.os.environ["MUJOCO_GL"] == "glfw"

    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setenv("DISPLAY", ":0")
    _headless_gl._choose_backend()
    assert "MUJOCO_GL" not in _headless_gl.os.environ
