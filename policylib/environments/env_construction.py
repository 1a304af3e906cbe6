"""What an "environment" argument is: an id, an environment or a constructor.

`evaluate`, its workers and `RayCollector` take any of the three; a worker
process or Ray actor needs a constructor to build its own copy, which
`env_constructor` gives (None for an instance, which cannot travel). An id
is a Gymnasium id ('CartPole-v1', loaded by `suite_gym`; Atari games by
`suite_atari`, MuJoCo tasks by `suite_mujoco`) or `envpool:` and an EnvPool
task ('envpool:CartPole-v1', loaded by `suite_envpool`); this module is the
one place that reads them (`suite_of`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable
from typing import TypeAlias

from policylib.environments import py_environment

__all__ = [
    "ENVPOOL_PREFIX",
    "EnvConstructor",
    "EnvLike",
    "EnvPoolConstructor",
    "Suite",
    "check_id",
    "env_constructor",
    "env_name",
    "gymnasium_env",
    "load",
    "suite_of",
]

EnvConstructor: TypeAlias = Callable[[], py_environment.PyEnvironment]
EnvLike: TypeAlias = str | py_environment.PyEnvironment | EnvConstructor

ENVPOOL_PREFIX = "envpool:"


@dataclasses.dataclass(frozen=True)
class EnvPoolConstructor:
    """Makes an EnvPool task's batched environment, of any batch size.

    An EnvPool pool batches its environments itself, so `evaluate` and its
    workers call `batch(num_envs, max_steps)` once where they call other
    constructors once per environment. Called with no argument (as
    `RayCollector` calls a constructor) it makes a batch of one.
    """

    task_id: str

    def __call__(self) -> py_environment.PyEnvironment:
        return self.batch(1)

    def batch(
        self, num_envs: int, max_steps: int | None = None
    ) -> py_environment.PyEnvironment:
        """A pool of `num_envs`; episodes cut after `max_steps` (at most the task's limit)."""
        from policylib.environments import suite_envpool

        limit = suite_envpool.registered_episode_limit(self.task_id)
        if max_steps is not None:
            limit = max_steps if limit is None else min(limit, max_steps)
        return suite_envpool.load(
            self.task_id, num_envs=num_envs, max_episode_steps=limit
        )


class Suite(enum.Enum):
    """The suite that loads an environment id (`suite_of`)."""

    GYMNASIUM = "gymnasium"
    ATARI = "atari"
    MUJOCO = "mujoco"
    ENVPOOL = "envpool"


def suite_of(env_id: str) -> Suite:
    """The suite that loads `env_id`, after checking that it knows the id.

    'envpool:TASK' -> EnvPool; an Atari game ('PongNoFrameskip-v4',
    'ALE/Pong-v5') -> `suite_atari`, with TF-Agents' DQN preprocessing and
    frame stacking (84x84x4, what its Atari agents are trained on); a MuJoCo
    task -> `suite_mujoco` (float32 observations; '-v2'/'-v3' load the
    current version); any other Gymnasium id -> `suite_gym`.

    Raises:
      UnknownEnvironmentError: the suite does not know the id (its message
        suggests close names).
      MissingExtraError: the suite's package is not installed.
    """
    if env_id.startswith(ENVPOOL_PREFIX):
        from policylib.environments import suite_envpool

        suite_envpool.check_id(env_id[len(ENVPOOL_PREFIX) :])
        return Suite.ENVPOOL
    from policylib.environments import suite_atari

    if suite_atari.is_atari_id(env_id):
        suite_atari.check_id(env_id)
        return Suite.ATARI
    from policylib.environments import suite_gym

    entry_point = repr(suite_gym.check_id(env_id).entry_point)
    if "gymnasium.envs.mujoco" in entry_point or "mujoco_py" in entry_point:
        return Suite.MUJOCO
    return Suite.GYMNASIUM


def check_id(env_id: str) -> None:
    """Raises unless a suite knows `env_id` (see `suite_of`)."""
    suite_of(env_id)


def load(env_id: str, seed: int | None = None) -> py_environment.PyEnvironment:
    """One environment for `env_id`, from the suite `suite_of` picks.

    It renders 'rgb_array' frames (`--video`), and with `seed` its first
    reset is seeded.

    Raises:
      UnknownEnvironmentError, MissingExtraError: as `suite_of`.
      ValueError: an 'envpool:' id (a batched pool: see `EnvPoolConstructor`).
    """
    suite = suite_of(env_id)
    env: py_environment.PyEnvironment
    if suite is Suite.ENVPOOL:
        raise ValueError(
            f"{env_id!r} is an EnvPool pool of environments, not one environment; "
            f"use the Gymnasium id {env_id[len(ENVPOOL_PREFIX) :]!r}."
        )
    if suite is Suite.ATARI:
        from policylib.environments import suite_atari

        env = suite_atari.load(
            env_id,
            gym_env_wrappers=suite_atari.DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING,
        )
    elif suite is Suite.MUJOCO:
        from policylib.environments import suite_mujoco

        env = suite_mujoco.load(env_id)
    else:
        from policylib.environments import suite_gym

        env = suite_gym.load(env_id)
    if seed is not None:
        env.seed(seed)
    return env


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
      UnknownEnvironmentError: an id Gymnasium (or EnvPool) does not know.
      TypeError: `env` is not an id, an environment or a callable.
    """
    if isinstance(env, str):
        if suite_of(env) is Suite.ENVPOOL:
            return EnvPoolConstructor(env[len(ENVPOOL_PREFIX) :]), env
        return functools.partial(load, env), env
    if isinstance(env, py_environment.PyEnvironment):
        return None, env_name(env)
    if callable(env):
        return env, getattr(env, "__name__", type(env).__name__)
    raise TypeError(
        "env must be a Gymnasium id (or envpool:TASK), a PyEnvironment or a "
        f"zero-argument constructor; got {type(env).__name__}."
    )
