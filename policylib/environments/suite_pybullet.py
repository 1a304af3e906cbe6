"""Load PyBullet environments (TF-Agents' `suite_pybullet`).

Two sources, one `load`:

- The Bullet versions of the locomotion, pendulum and manipulator tasks
  ('InvertedPendulumBulletEnv-v0', 'HopperBulletEnv-v0', ...) come from
  `pybullet-envs-gymnasium`, their maintained Gymnasium port, and load as any
  Gymnasium environment.
- The robots that only PyBullet's own `pybullet_envs` has (Minitaur, Kuka,
  Racecar: TF-Agents' tutorial 7 trains on 'MinitaurBulletEnv-v0') are
  written for gym before 0.26 (`reset` gives the observation alone, `step`
  four values) and register themselves through a gym API removed in 0.22, so
  `import pybullet_envs` fails on any gym that still installs. `load` imports
  only the environment's own module, runs it behind gym 0.26's compatibility
  wrapper and gives it the episode limit PyBullet registers. These need
  `gym==0.26.2` beside the extra, since PyBullet's environments import gym.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import types as pytypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gin

from policylib.base import extras
from policylib.environments import (
    py_environment,
    suite_gymnasium,
)
from policylib.errors import UnknownEnvironmentError
from policylib.typing import types

__all__ = ["LEGACY_ENVIRONMENTS", "LegacyBulletEnv", "is_available", "load"]


@dataclass(frozen=True)
class LegacyBulletEnv:
    """An environment of PyBullet's own `pybullet_envs` (old gym API)."""

    module: str
    class_name: str
    max_episode_steps: int


# PyBullet's registrations (pybullet_envs/__init__.py) of the robots its
# Gymnasium port leaves out.
LEGACY_ENVIRONMENTS: dict[str, LegacyBulletEnv] = {
    "MinitaurBulletEnv-v0": LegacyBulletEnv("bullet", "MinitaurBulletEnv", 1000),
    "MinitaurBulletDuckEnv-v0": LegacyBulletEnv(
        "bullet", "MinitaurBulletDuckEnv", 1000
    ),
    "RacecarBulletEnv-v0": LegacyBulletEnv("bullet", "RacecarGymEnv", 1000),
    "RacecarZedBulletEnv-v0": LegacyBulletEnv("bullet", "RacecarZEDGymEnv", 1000),
    "KukaBulletEnv-v0": LegacyBulletEnv("bullet", "KukaGymEnv", 1000),
    "KukaCamBulletEnv-v0": LegacyBulletEnv("bullet", "KukaCamGymEnv", 1000),
    "CartPoleBulletEnv-v1": LegacyBulletEnv("bullet", "CartPoleBulletEnv", 200),
    "CartPoleContinuousBulletEnv-v0": LegacyBulletEnv(
        "bullet", "CartPoleContinuousBulletEnv", 200
    ),
}


def is_available() -> bool:
    """Whether `pybullet` and its Gymnasium environments import."""
    return (
        importlib.util.find_spec("pybullet") is not None
        and importlib.util.find_spec("pybullet_envs_gymnasium") is not None
    )


def _register_gymnasium_envs() -> None:
    extras.require("pybullet", "pybullet", "PyBullet environments")
    extras.require("pybullet_envs_gymnasium", "pybullet", "PyBullet environments")


def _legacy_env(
    environment_name: str, entry: LegacyBulletEnv, gym_kwargs: dict[str, Any]
) -> Any:
    """A PyBullet `pybullet_envs` environment as a gym 0.26 environment.

    `gym_kwargs` go to the robot's constructor, except 'render_mode', which
    the compatibility wrapper takes: 'rgb_array' unless chosen, so that
    `render()` gives a frame as TF-Agents' tutorial 7 expects (and, as with
    Gymnasium, nothing is drawn while stepping).
    """
    kwargs = dict(gym_kwargs)
    render_mode = kwargs.pop("render_mode", "rgb_array")
    extras.require("pybullet", "pybullet", "PyBullet environments")
    if importlib.util.find_spec("gym") is None:
        raise extras.MissingExtraError(
            f"{environment_name} is written for gym, which is not installed: "
            "pip install 'gym==0.26.2' (beside 'policylib[pybullet]')"
        )
    if "pybullet_envs" not in sys.modules:
        # The package's __init__ registers every environment through
        # `registry.env_specs`, which gym removed in 0.22: load the package
        # without running it, then import only the environment's module.
        spec = importlib.util.find_spec("pybullet_envs")
        if spec is None or spec.submodule_search_locations is None:
            raise extras.missing("pybullet_envs", "pybullet", "PyBullet environments")
        package = pytypes.ModuleType("pybullet_envs")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["pybullet_envs"] = package
    module = importlib.import_module(f"pybullet_envs.{entry.module}")
    env = getattr(module, entry.class_name)(**kwargs)
    from gym.wrappers.compatibility import EnvCompatibility

    return EnvCompatibility(env, render_mode=render_mode)


@gin.configurable
def load(
    environment_name: str,
    discount: types.Float = 1.0,
    max_episode_steps: int | None = None,
    gym_env_wrappers: Sequence[suite_gymnasium.GymEnvWrapper] = (),
    env_wrappers: Sequence[suite_gymnasium.PyEnvWrapper] = (),
    spec_dtype_map: dict[type, Any] | None = None,
    gym_kwargs: dict[str, Any] | None = None,
    render_kwargs: dict[str, Any] | None = None,
) -> py_environment.PyEnvironment:
    """Makes a PyBullet environment as a `PyEnvironment` with a `TimeLimit`.

    Args:
      environment_name: a Bullet id, e.g. 'InvertedPendulumBulletEnv-v0' or
        'MinitaurBulletEnv-v0'.
      discount: discount of non-terminal steps.
      max_episode_steps: episode limit; the registered one when None, none
        when 0.
      gym_env_wrappers: gym/Gymnasium wrappers, applied first.
      env_wrappers: `PyEnvironment` wrappers, applied last.
      spec_dtype_map: space class -> spec dtype.
      gym_kwargs: keyword arguments of the Gymnasium environment's constructor.
      render_kwargs: keyword arguments of `render`.

    Raises:
      UnknownEnvironmentError: neither source has the id (close names given).
      MissingExtraError: `pybullet` (or, for PyBullet's own robots, gym) is
        missing.
    """
    entry = LEGACY_ENVIRONMENTS.get(environment_name)
    if entry is None:
        _register_gymnasium_envs()
        try:
            suite_gymnasium.check_id(environment_name)
        except UnknownEnvironmentError as e:
            close = difflib.get_close_matches(
                environment_name, LEGACY_ENVIRONMENTS, n=3
            )
            hint = (
                f"Did you mean {' or '.join(close)}?"
                if close
                else f"PyBullet's own robots: {', '.join(sorted(LEGACY_ENVIRONMENTS))}."
            )
            raise UnknownEnvironmentError(f"{e} {hint}") from e
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
    limit = entry.max_episode_steps if max_episode_steps is None else max_episode_steps
    return suite_gymnasium.wrap_env(
        _legacy_env(environment_name, entry, gym_kwargs or {}),
        discount=discount,
        max_episode_steps=limit,
        gym_env_wrappers=gym_env_wrappers,
        env_wrappers=env_wrappers,
        spec_dtype_map=spec_dtype_map,
        render_kwargs=render_kwargs,
        # PyBullet's robots report values past the bounds they declare (the
        # Minitaur's motor angles pass ±π within a few steps of a constant action):
        # their shapes and NaN rewards are still checked, not those bounds.
        check_observation_bounds=False,
    )
