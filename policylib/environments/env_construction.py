"""What an "environment" argument is: a Gymnasium id, an environment or a constructor.

`evaluate`, its workers and `RayCollector` take any of the three; a worker
process or Ray actor needs a constructor to build its own copy, which
`env_constructor` gives (None for an instance, which cannot travel).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeAlias

from policylib.environments import py_environment

__all__ = ["EnvConstructor", "EnvLike", "env_constructor", "env_name", "gymnasium_env"]

EnvConstructor: TypeAlias = Callable[[], py_environment.PyEnvironment]
EnvLike: TypeAlias = str | py_environment.PyEnvironment | EnvConstructor


def gymnasium_env(env: object) -> object | None:
    """The Gymnasium environment under a PyEnvironment's wrappers, or None."""
    for _ in range(64):  # wrappers of wrappers; bounded against a cycle
        gym_env = getattr(env, "gym", None)
        if gym_env is not None:
            return gym_env
        inner = getattr(env, "wrapped_env", None)
        if not callable(inner):
            return None
        env = inner()
    return None


def env_name(env: py_environment.PyEnvironment) -> str:
    """The Gymnasium id under an environment's wrappers, else its class name."""
    env_id = getattr(getattr(gymnasium_env(env), "spec", None), "id", None)
    return str(env_id) if env_id else type(env).__name__


def env_constructor(env: EnvLike) -> tuple[EnvConstructor | None, str]:
    """(zero-argument constructor, or None for an instance; display name).

    Raises:
      UnknownEnvironmentError: an id Gymnasium does not know.
      TypeError: `env` is not an id, an environment or a callable.
    """
    if isinstance(env, str):
        from policylib.environments import suite_gym

        suite_gym.check_id(env)
        return functools.partial(suite_gym.load, env), env
    if isinstance(env, py_environment.PyEnvironment):
        return None, env_name(env)
    if callable(env):
        return env, getattr(env, "__name__", type(env).__name__)
    raise TypeError(
        "env must be a Gymnasium id, a PyEnvironment or a zero-argument constructor; "
        f"got {type(env).__name__}."
    )
