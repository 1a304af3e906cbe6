"""Load DeepMind Control Suite environments (TF-Agents' `suite_dm_control`).

    env = suite_dm_control.load("cartpole", "swingup")
    env = suite_dm_control.load_pixels("cartpole", "swingup",
                                       render_kwargs={"width": 84, "height": 84})

Each task comes wrapped in a `DmControlWrapper`. Episodes end at the task's
time limit keeping the discount (1000 steps for most tasks;
`task_kwargs={'time_limit': seconds}` changes it), and
`task_kwargs={'random': seed}` seeds them. dm_control is an optional dependency (`pip install
'policylib[dm-control]'`), imported on the first load.

MuJoCo draws with OpenGL. On Linux without a display, `MUJOCO_GL` (when not
set before dm_control is first imported) becomes 'egl' or 'osmesa', and
Mesa's software renderer is kept apart from TensorFlow's LLVM, so rendering
and `load_pixels` work headless (see `_headless_gl`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import gin

from policylib.base import extras
from policylib.environments import _headless_gl, dm_control_wrapper, py_environment
from policylib.errors import UnknownEnvironmentError
from policylib.typing import types

__all__ = ["is_available", "load", "load_pixels"]

_FEATURE = "DeepMind Control Suite environments"

# A dm_env environment in, a dm_env environment out (e.g. a dm_control wrapper).
DmEnvWrapper = Callable[[Any], Any]


def _suite() -> ModuleType:
    """`dm_control.suite`, or a one-line `MissingExtraError`."""
    _headless_gl.prepare()  # Before dm_control reads MUJOCO_GL.
    extras.require("dm_env", extra="dm-control", feature=_FEATURE)
    return extras.require("dm_control.suite", extra="dm-control", feature=_FEATURE)


def is_available() -> bool:
    """Whether dm_control (with its Control Suite) can be imported."""
    try:
        _suite()
    except ImportError:
        return False
    return True


def _close(name: str, choices: Sequence[str]) -> str:
    """' Did you mean ...?' naming the close matches of `name`, or ''."""
    matches = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def _check_names(suite: ModuleType, domain_name: str, task_name: str) -> None:
    """Raises `UnknownEnvironmentError` for a domain or task the suite lacks."""
    tasks_by_domain = suite.TASKS_BY_DOMAIN
    if domain_name not in tasks_by_domain:
        raise UnknownEnvironmentError(
            f"dm_control has no domain {domain_name!r}."
            f"{_close(domain_name, sorted(tasks_by_domain))} Domains: "
            f"{', '.join(sorted(tasks_by_domain))}."
        )
    tasks = tasks_by_domain[domain_name]
    if task_name not in tasks:
        raise UnknownEnvironmentError(
            f"dm_control's domain {domain_name!r} has no task {task_name!r}."
            f"{_close(task_name, tasks)} Its tasks: {', '.join(tasks)}."
        )


def _load_env(
    domain_name: str,
    task_name: str,
    task_kwargs: dict[str, Any] | None = None,
    environment_kwargs: dict[str, Any] | None = None,
    visualize_reward: bool = False,
) -> Any:
    """The raw dm_control environment (see `load` for the arguments)."""
    suite = _suite()
    _check_names(suite, domain_name, task_name)
    return suite.load(
        domain_name,
        task_name,
        task_kwargs=task_kwargs,
        environment_kwargs=environment_kwargs,
        visualize_reward=visualize_reward,
    )


def _wrap(
    dmc_env: Any,
    render_kwargs: dict[str, Any] | None,
    env_wrappers: Sequence[types.PyEnvWrapper],
) -> py_environment.PyEnvironment:
    env: py_environment.PyEnvironment = dm_control_wrapper.DmControlWrapper(
        dmc_env, render_kwargs
    )
    for wrapper in env_wrappers:
        env = wrapper(env)
    return env


@gin.configurable
def load(
    domain_name: str,
    task_name: str,
    task_kwargs: dict[str, Any] | None = None,
    environment_kwargs: dict[str, Any] | None = None,
    visualize_reward: bool = False,
    render_kwargs: dict[str, Any] | None = None,
    env_wrappers: Sequence[types.PyEnvWrapper] = (),
) -> py_environment.PyEnvironment:
    """Makes a Control Suite task as a `PyEnvironment` (state observations).

    Args:
      domain_name: the domain, e.g. 'cartpole'.
      task_name: the domain's task, e.g. 'swingup'.
      task_kwargs: keyword arguments of the task, e.g. `{'random': 0}` to
        seed it, `{'time_limit': 10.0}` for episodes of 10 s simulated time.
      environment_kwargs: keyword arguments of `control.Environment`, e.g.
        `{'flat_observation': True}`.
      visualize_reward: colour objects in rendered frames by the reward.
      render_kwargs: keyword arguments of `physics.render` for `render()`.
      env_wrappers: `PyEnvironment` wrappers, applied in order.

    Raises:
      UnknownEnvironmentError: the domain or task does not exist (the message
        names the close matches).
      MissingExtraError: dm_control is not installed.
    """
    dmc_env = _load_env(
        domain_name, task_name, task_kwargs, environment_kwargs, visualize_reward
    )
    return _wrap(dmc_env, render_kwargs, env_wrappers)


@gin.configurable
def load_pixels(
    domain_name: str,
    task_name: str,
    observation_key: str = "pixels",
    pixels_only: bool = True,
    task_kwargs: dict[str, Any] | None = None,
    environment_kwargs: dict[str, Any] | None = None,
    visualize_reward: bool = False,
    render_kwargs: dict[str, Any] | None = None,
    env_wrappers: Sequence[types.PyEnvWrapper] = (),
    env_state_wrappers: Sequence[DmEnvWrapper] = (),
) -> py_environment.PyEnvironment:
    """Makes a Control Suite task whose observations are rendered frames.

    The observation is a dict with the uint8 HxWx3 frame under
    `observation_key` (and, unless `pixels_only`, the state observations).

    Args:
      domain_name: the domain, e.g. 'cartpole'.
      task_name: the domain's task, e.g. 'swingup'.
      observation_key: the key of the frame in the observation dict.
      pixels_only: keep only the frame, dropping the state observations.
      task_kwargs: keyword arguments of the task (see `load`).
      environment_kwargs: keyword arguments of the environment (see `load`).
      visualize_reward: colour objects in the frames by the reward.
      render_kwargs: keyword arguments of `physics.render`, for the
        observations and `render()` alike, e.g. `{'width': 84, 'height': 84}`.
      env_wrappers: `PyEnvironment` wrappers, applied in order.
      env_state_wrappers: dm_env wrappers applied to the state environment
        before the frames are added.

    Raises:
      UnknownEnvironmentError: the domain or task does not exist.
      MissingExtraError: dm_control is not installed.
    """
    dmc_env = _load_env(
        domain_name, task_name, task_kwargs, environment_kwargs, visualize_reward
    )
    for state_wrapper in env_state_wrappers:
        dmc_env = state_wrapper(dmc_env)
    pixels = extras.require(
        "dm_control.suite.wrappers.pixels", extra="dm-control", feature=_FEATURE
    )
    dmc_env = pixels.Wrapper(
        dmc_env,
        pixels_only=pixels_only,
        render_kwargs=render_kwargs,
        observation_key=observation_key,
    )
    return _wrap(dmc_env, render_kwargs, env_wrappers)
