"""Load EnvPool tasks as batched `PyEnvironment`s (`load`).

EnvPool (`pip install 'policylib[envpool]'`) steps a batch of environments
in C++ threads, far faster than a process per environment. `load` makes one
pool of `num_envs` environments and wraps it in `VectorEnvWrapper`, which
maps EnvPool's auto-reset to TF-Agents' step types:

    env = suite_envpool.load("CartPole-v1", num_envs=8, seed=0)  # batch_size 8
    tf_env = tf_py_environment.TFPyEnvironment(env)

`policylib evaluate --env envpool:CartPole-v1 --num-envs 8` runs one (see
`env_construction`). EnvPool fixes its seeds when it makes the pool: a seeded
`reset()` makes the pool anew (see `VectorEnvWrapper.seed`).
"""

from __future__ import annotations

import difflib
import functools
import operator
import secrets
import warnings
from types import ModuleType
from typing import Any

import numpy.typing as npt

from policylib.base import arg_checks, extras
from policylib.environments import vector_env_wrapper
from policylib.errors import UnknownEnvironmentError
from policylib.typing import types

__all__ = ["check_id", "load", "registered_episode_limit"]


def _envpool() -> ModuleType:
    """The `envpool` module, or one line naming the pip install."""
    return extras.require("envpool", extra="envpool", feature="EnvPool environments")


def check_id(task_id: str) -> None:
    """Raises unless EnvPool has the task `task_id`.

    Raises:
      UnknownEnvironmentError: EnvPool has no such task; the message gives
        EnvPool's close names and, where Gymnasium has the id, says to use it.
      MissingExtraError: envpool is not installed.
    """
    tasks = _envpool().list_all_envs()
    if task_id in tasks:
        return
    hints = []
    close = difflib.get_close_matches(task_id, tasks, n=3)
    tail = task_id.rsplit("/", 1)[
        -1
    ]  # Gymnasium's 'ALE/Pong-v5' is EnvPool's 'Pong-v5'
    if tail != task_id and tail in tasks:
        close = [tail, *(c for c in close if c != tail)]
    if close:
        hints.append("EnvPool has " + ", ".join(repr(c) for c in close))
    if _gymnasium_knows(task_id):
        hints.append(f"Gymnasium has {task_id!r}: use that id, without 'envpool:'")
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise UnknownEnvironmentError(f"EnvPool has no task {task_id!r}{hint}.")


def _gymnasium_knows(env_id: str) -> bool:
    from policylib.environments.gym_wrapper import gymnasium

    try:
        gymnasium.spec(env_id)
    except gymnasium.error.Error:
        return False
    return True


def registered_episode_limit(task_id: str) -> int | None:
    """EnvPool's episode limit of `task_id` (its `max_episode_steps`), or None."""
    config = _envpool().make_spec(task_id).config
    limit = getattr(config, "max_episode_steps", None)
    return None if limit is None else int(limit)


def _make_pool(
    task_id: str, num_envs: int, kwargs: dict[str, Any], seeds: list[int]
) -> Any:
    """EnvPool's Gymnasium-API pool; environment i seeded with `seeds[i]`."""
    pool = _envpool().make_gymnasium(task_id, num_envs=num_envs, seed=seeds, **kwargs)
    with warnings.catch_warnings():
        # EnvPool builds its spaces on first use, from float64 bounds: Gymnasium
        # warns as it casts them to float32. Built here, that warning is not shown.
        warnings.filterwarnings("ignore", message=".*precision lowered by casting")
        pool.single_observation_space, pool.single_action_space  # noqa: B018
    return pool


def load(
    task_id: str,
    num_envs: int = 1,
    seed: int | None = None,
    discount: types.Float = 1.0,
    max_episode_steps: int | None = None,
    spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
    **envpool_kwargs: Any,
) -> vector_env_wrapper.VectorEnvWrapper:
    """Makes a pool of `num_envs` environments of an EnvPool task as a batched `PyEnvironment`.

    Args:
      task_id: an EnvPool task, e.g. 'CartPole-v1' or 'Pong-v5'
        (`envpool.list_all_envs()`).
      num_envs: environments in the pool (the batch size).
      seed: environment i is seeded with `seed + i`; None draws a seed.
      discount: the discount of non-terminal steps.
      max_episode_steps: episodes are truncated after this many steps; None
        keeps the task's registered limit.
      spec_dtype_map: space class -> spec dtype (see `spec_from_gym_space`).
      **envpool_kwargs: EnvPool's task options (e.g. `num_threads`,
        `episodic_life`, `stack_num` for Atari), passed to
        `envpool.make_gymnasium`.

    Raises:
      UnknownEnvironmentError: EnvPool has no task `task_id`.
      MissingExtraError: envpool is not installed.
      ValueError: a bad count or seed, or an asynchronous pool (`batch_size`
        other than `num_envs`), whose steps hold only some environments.
    """
    check_id(task_id)
    num_envs = arg_checks.check_int(num_envs, "num_envs", owner="suite_envpool.load")  # type: ignore[assignment]
    batch_size = envpool_kwargs.get("batch_size", num_envs)
    if batch_size not in (0, num_envs):
        raise ValueError(
            f"suite_envpool.load: batch_size={batch_size} makes an asynchronous pool "
            f"whose steps return only some of its {num_envs} environments; a "
            "PyEnvironment steps them all (leave batch_size out)."
        )
    if max_episode_steps is not None:
        envpool_kwargs["max_episode_steps"] = operator.index(max_episode_steps)
    if seed is None:
        seed = secrets.randbelow(2**31 - num_envs)
    seeds = vector_env_wrapper.per_env_seeds(seed, num_envs)
    remake = functools.partial(_make_pool, task_id, num_envs, envpool_kwargs)
    return vector_env_wrapper.VectorEnvWrapper(
        remake(seeds),
        discount=discount,
        spec_dtype_map=spec_dtype_map,
        remake=remake,
        seeds=seeds,
        name=f"envpool:{task_id}",
    )
