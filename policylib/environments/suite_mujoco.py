"""Load MuJoCo Gymnasium environments (TF-Agents' `suite_mujoco`).

`load` is `suite_gym.load` with float32 observations by default, the dtype
MuJoCo's float64 boxes are trained with. Any registered Gymnasium id loads
through it (TF-Agents' examples pass classic-control ids like 'Pendulum-v1');
`is_available` says whether the MuJoCo simulator itself can be used.

TF-Agents' scripts name '-v2'/'-v3' environments ('HalfCheetah-v2'), which
ran on mujoco-py; mujoco-py no longer installs, and Gymnasium registers those
ids only to raise an error. `load` gives them Gymnasium's newest version of
the same task on the `mujoco` bindings instead (same observation and action
shapes at default settings), and logs one line saying so.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

import gin
import numpy as np
import numpy.typing as npt
from absl import logging

from policylib.base import extras
from policylib.environments import _headless_gl, py_environment, suite_gymnasium
from policylib.environments.gym_wrapper import gymnasium
from policylib.typing import types

__all__ = ["current_version", "is_available", "load"]

_MUJOCO_PY_VERSIONS = ("v2", "v3")


def current_version(environment_name: str) -> str:
    """The id `load` makes for `environment_name`.

    A mujoco-py id ('Hopper-v2', 'Hopper-v3') becomes Gymnasium's newest
    registered version of that task on the `mujoco` bindings ('Hopper-v5');
    every other id is returned as it is.
    """
    match = re.fullmatch(r"(.+)-(v\d+)", environment_name)
    if not match or match.group(2) not in _MUJOCO_PY_VERSIONS:
        return environment_name
    spec = gymnasium.envs.registration.registry.get(environment_name)
    if spec is None or "mujoco_py" not in repr(spec.entry_point):
        return environment_name
    base = match.group(1)
    versions = [
        int(other.version)
        for other in gymnasium.envs.registration.registry.values()
        if other.name == base
        and other.namespace is None
        and other.version is not None
        and "mujoco_py" not in repr(other.entry_point)
    ]
    if not versions:
        return environment_name
    return f"{base}-v{max(versions)}"


def is_available() -> bool:
    """Whether the `mujoco` package and Gymnasium's MuJoCo environments import."""
    try:
        importlib.import_module("mujoco")
        importlib.import_module("gymnasium.envs.mujoco")
    except ImportError:
        return False
    return True


@gin.configurable
def load(
    environment_name: str,
    discount: types.Float = 1.0,
    max_episode_steps: int | None = None,
    gym_env_wrappers: Sequence[suite_gymnasium.GymEnvWrapper] = (),
    env_wrappers: Sequence[suite_gymnasium.PyEnvWrapper] = (),
    spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
    gym_kwargs: dict[str, Any] | None = None,
    render_kwargs: dict[str, Any] | None = None,
) -> py_environment.PyEnvironment:
    """Makes a registered Gymnasium environment, observations as float32 by default.

    Args:
      environment_name: a registered id, e.g. 'HalfCheetah-v4' or 'Pendulum-v1'.
      discount: discount of non-terminal steps.
      max_episode_steps: episode limit; the registered one when None, none
        when 0.
      gym_env_wrappers: Gymnasium wrappers, applied first.
      env_wrappers: `PyEnvironment` wrappers, applied last.
      spec_dtype_map: space class -> spec dtype; None maps `Box` spaces to
        float32.
      gym_kwargs: keyword arguments of `gymnasium.make` (e.g. `render_mode`).
      render_kwargs: keyword arguments of `render` (see `GymWrapper`).

    Raises:
      UnknownEnvironmentError: the id is not registered.
      MissingExtraError: a MuJoCo task, and the `mujoco` package is missing.
    """
    suite_gymnasium.check_id(environment_name)
    current = current_version(environment_name)
    if current != environment_name:
        logging.warning(
            "suite_mujoco: %s ran on mujoco-py, which no longer installs; "
            "loading %s (Gymnasium's current version on the mujoco bindings).",
            environment_name,
            current,
        )
        environment_name = current
    entry_point = repr(gymnasium.spec(environment_name).entry_point)
    if "gymnasium.envs.mujoco" in entry_point:
        extras.require("mujoco", "mujoco", "MuJoCo environments")
        # Rendering (render_mode='rgb_array', `--video`) on a headless machine
        # beside TensorFlow: see _headless_gl.
        _headless_gl.prepare()
    if spec_dtype_map is None:
        spec_dtype_map = {gymnasium.spaces.Box: np.float32}
    return suite_gymnasium.load(
        environment_name,
        discount=discount,
        max_episode_steps=max_episode_steps,
        gym_env_wrappers=gym_env_wrappers,
        env_wrappers=env_wrappers,
        spec_dtype_map=spec_dtype_map,
        gym_kwargs=gym_kwargs,
        render_kwargs=render_kwargs,
    )
