"""A policylib `PyEnvironment` as a DeepMind `dm_env.Environment` (TF-Agents' `py_to_dm_wrapper`).

The reverse of `dm_control_wrapper.DmEnvWrapper`: code written for dm_env
(Acme agents, dm_env tooling) runs on any unbatched policylib environment.
Specs become `dm_env.specs.Array`/`BoundedArray` nests; a FIRST step carries
no reward or discount (dm_env's convention), later steps the environment's.
Needs `dm-env` (in the `dm-control` and `bsuite` extras).
"""

from __future__ import annotations

from typing import Any

from policylib.base import extras
from policylib.base.lazy_tf import nest
from policylib.environments import py_environment
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

dm_env: Any = extras.require("dm_env", "dm-control", "py_to_dm_wrapper")
from dm_env import specs as dm_specs  # noqa: E402  (after the extra's check)

__all__ = ["PyToDMWrapper"]


def _dm_spec(spec: array_spec.ArraySpec) -> Any:
    """The dm_env spec with `spec`'s shape, dtype, name (and bounds)."""
    if isinstance(spec, array_spec.BoundedArraySpec):
        return dm_specs.BoundedArray(
            shape=spec.shape,
            dtype=spec.dtype,
            minimum=spec.minimum,
            maximum=spec.maximum,
            name=spec.name,
        )
    return dm_specs.Array(shape=spec.shape, dtype=spec.dtype, name=spec.name)


def _dm_time_step(time_step: ts.TimeStep) -> Any:
    """A policylib `TimeStep` as dm_env's (FIRST: reward and discount None)."""
    if time_step.is_first():
        return dm_env.restart(time_step.observation)
    if time_step.is_last():
        step_type = dm_env.StepType.LAST
    elif time_step.is_mid():
        step_type = dm_env.StepType.MID
    else:
        raise ValueError(
            f"Cannot convert step_type {time_step.step_type!r}: expected FIRST (0), "
            "MID (1) or LAST (2)."
        )
    return dm_env.TimeStep(
        step_type=step_type,
        reward=time_step.reward,
        discount=time_step.discount,
        observation=time_step.observation,
    )


class PyToDMWrapper(dm_env.Environment):
    """Runs an unbatched `PyEnvironment` behind dm_env's interface.

    Args:
      env: the environment; other attributes are read through to it.

    Raises:
      NotImplementedError: `env` is batched (dm_env has no batch dimension).
    """

    def __init__(self, env: py_environment.PyEnvironment):
        super().__init__()
        if env.batched:
            raise NotImplementedError(
                f"{type(env).__name__} is batched (batch_size={env.batch_size}); "
                "dm_env environments are not. Wrap one unbatched environment."
            )
        self._environment = env
        self._observation_spec = nest.map_structure(_dm_spec, env.observation_spec())
        self._action_spec = nest.map_structure(_dm_spec, env.action_spec())
        self._reward_spec = nest.map_structure(_dm_spec, env.reward_spec())
        self._discount_spec = nest.map_structure(_dm_spec, env.discount_spec())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_environment" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_environment"], name)

    @property
    def environment(self) -> py_environment.PyEnvironment:
        """The wrapped policylib environment."""
        return self._environment

    def reset(self) -> Any:
        return _dm_time_step(self._environment.reset())

    def step(self, action: types.NestedArray) -> Any:
        return _dm_time_step(self._environment.step(action))

    def observation_spec(self) -> Any:
        return self._observation_spec

    def action_spec(self) -> Any:
        return self._action_spec

    def reward_spec(self) -> Any:
        return self._reward_spec

    def discount_spec(self) -> Any:
        return self._discount_spec

    def close(self) -> None:
        self._environment.close()
