"""Load Gymnasium environments as `PyEnvironment`s (`load`, `wrap_env`).

`load('CartPole-v1')` makes the environment with Gymnasium, wraps it in a
`GymWrapper`, adds a `TimeLimit` at the registered episode limit (or
`max_episode_steps`), then applies your wrappers. `suite_gym` is the same
module under TF-Agents' name.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import gin
import numpy.typing as npt

from policylib.environments import gym_wrapper, py_environment, wrappers
from policylib.environments.gym_wrapper import gymnasium
from policylib.errors import UnknownEnvironmentError
from policylib.typing import types

__all__ = ["check_id", "load", "wrap_env"]

GymEnvWrapper = Callable[[gymnasium.Env], gymnasium.Env]
PyEnvWrapper = Callable[[py_environment.PyEnvironment], py_environment.PyEnvironment]
TimeLimitWrapperType = Callable[
    [py_environment.PyEnvironment, int], py_environment.PyEnvironment
]


def check_id(environment_name: str) -> gymnasium.envs.registration.EnvSpec:
    """Gymnasium's registration of `environment_name`.

    Raises:
      UnknownEnvironmentError: Gymnasium does not know the id (the message
        is Gymnasium's, which suggests close names).
    """
    try:
        return gymnasium.spec(environment_name)
    except gymnasium.error.Error as e:
        raise UnknownEnvironmentError(
            f"Unknown Gymnasium environment {environment_name!r}: {e}"
        ) from e


@gin.configurable
def load(
    environment_name: str,
    discount: types.Float = 1.0,
    max_episode_steps: int | None = None,
    gym_env_wrappers: Sequence[GymEnvWrapper] = (),
    env_wrappers: Sequence[PyEnvWrapper] = (),
    spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
    gym_kwargs: dict[str, Any] | None = None,
    render_kwargs: dict[str, Any] | None = None,
    seed: int | None = None,
) -> py_environment.PyEnvironment:
    """Makes a registered Gymnasium environment and wraps it as a `PyEnvironment`.

    Args:
      environment_name: a registered id, e.g. 'CartPole-v1'.
      discount: discount of non-terminal steps.
      max_episode_steps: episode limit; the registered one when None, none
        when 0.
      gym_env_wrappers: Gymnasium wrappers, applied first.
      env_wrappers: `PyEnvironment` wrappers, applied last.
      spec_dtype_map: space class -> spec dtype.
      gym_kwargs: keyword arguments for `gymnasium.make`. Without a
        `render_mode` here (or in the registration), an environment that can
        render 'rgb_array' is made with it, so `render()` returns a frame as
        in TF-Agents; pass `render_mode=None` (or 'human') to choose another.
      render_kwargs: a 'render_mode' here goes to `gymnasium.make` (as in
        TF-Agents' newer `suite_gymnasium`) unless `gym_kwargs` has one; the
        rest is kept for TF-Agents signatures (Gymnasium's `render()` takes
        no arguments).
      seed: seeds the first reset (and the action space).

    Raises:
      gymnasium.error.Error: the id is not registered (Gymnasium's message).
    """
    gym_kwargs = dict(gym_kwargs or {})
    render_kwargs = dict(render_kwargs or {})
    if "render_mode" in render_kwargs:
        gym_kwargs.setdefault("render_mode", render_kwargs.pop("render_mode"))
    gym_spec = gymnasium.spec(environment_name)
    if max_episode_steps is None:
        max_episode_steps = gym_spec.max_episode_steps
    elif max_episode_steps > 0:
        # Gymnasium takes only a Python int (TF-Agents also took NumPy ints).
        gym_kwargs.setdefault("max_episode_steps", operator.index(max_episode_steps))
    if "render_mode" not in gym_kwargs and _renders_rgb_array(gym_spec):
        # TF-Agents code calls `render()` for frames at any time; Gymnasium fixes
        # the mode at `make`. 'rgb_array' draws only when asked, so it is free.
        gym_kwargs["render_mode"] = "rgb_array"
    gym_env = gymnasium.make(environment_name, **gym_kwargs)
    env = wrap_env(
        gym_env,
        discount=discount,
        max_episode_steps=max_episode_steps,
        gym_env_wrappers=gym_env_wrappers,
        env_wrappers=env_wrappers,
        spec_dtype_map=spec_dtype_map,
        render_kwargs=render_kwargs,
    )
    if seed is not None:
        env.seed(seed)
    return env


def _renders_rgb_array(gym_spec: gymnasium.envs.registration.EnvSpec) -> bool:
    """Whether the registered environment lists 'rgb_array' among its render modes.

    Also False when the registration fixes a render mode, or its entry point
    cannot be loaded or declares no modes (then `make` decides as usual).
    """
    if "render_mode" in (gym_spec.kwargs or {}):
        return False
    entry_point = gym_spec.entry_point
    if entry_point is None:
        return False
    try:
        creator = (
            entry_point
            if callable(entry_point)
            else gymnasium.envs.registration.load_env_creator(entry_point)
        )
    except Exception:  # Let `make` report a broken entry point itself.
        return False
    metadata = getattr(creator, "metadata", None)
    if not isinstance(metadata, dict):
        return False
    return "rgb_array" in (metadata.get("render_modes") or ())


@gin.configurable
def wrap_env(
    gym_env: gymnasium.Env,
    discount: types.Float = 1.0,
    max_episode_steps: int | None = None,
    gym_env_wrappers: Sequence[GymEnvWrapper] = (),
    time_limit_wrapper: TimeLimitWrapperType = wrappers.TimeLimit,
    env_wrappers: Sequence[PyEnvWrapper] = (),
    spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
    auto_reset: bool = True,
    render_kwargs: dict[str, Any] | None = None,
    *,
    check_observation_bounds: bool = True,
) -> py_environment.PyEnvironment:
    """Wraps a made Gymnasium environment (see `load` for the arguments).

    `check_observation_bounds=False` is for environments known to break the
    bounds they declare (see `GymWrapper`).
    """
    for wrapper in gym_env_wrappers:
        gym_env = wrapper(gym_env)
    env: py_environment.PyEnvironment = gym_wrapper.GymWrapper(
        gym_env,
        discount=discount,
        spec_dtype_map=spec_dtype_map,
        auto_reset=auto_reset,
        render_kwargs=render_kwargs,
        check_observation_bounds=check_observation_bounds,
    )
    if max_episode_steps is not None and max_episode_steps > 0:
        env = time_limit_wrapper(env, max_episode_steps)
    for env_wrapper in env_wrappers:
        env = env_wrapper(env)
    return env
