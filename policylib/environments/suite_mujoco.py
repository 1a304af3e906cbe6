"""Load MuJoCo Gymnasium environments (TF-Agents' `suite_mujoco`).

`load` is `suite_gym.load` with float32 observations by default, the dtype
MuJoCo's float64 boxes are trained with. Any registered Gymnasium id loads
through it (TF-Agents' examples pass classic-control ids like 'Pendulum-v1');
`is_available` says whether the MuJoCo simulator itself can be used.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import gin
import numpy as np
import numpy.typing as npt

from policylib.environments import py_environment, suite_gymnasium
from policylib.environments.gym_wrapper import gymnasium
from policylib.typing import types

__all__ = ["is_available", "load"]


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

    Raises:
      UnknownEnvironmentError: the id is not registered.
    """
    suite_gymnasium.check_id(environment_name)
    if spec_dtype_map is None:
        spec_dtype_map = {gymnasium.spaces.Box: np.float32}
    return suite_gymnasium.load(
        environment_name,
        discount=discount,
        max_episode_steps=max_episode_steps,
        gym_env_wrappers=gym_env_wrappers,
        env_wrappers=env_wrappers,
        spec_dtype_map=spec_dtype_map,
    )
