"""`PyEnvironment`: the base class of Python (NumPy) environments.

An environment produces `TimeStep`s and consumes actions:

    time_step = env.reset()
    while not time_step.is_last():
        time_step = env.step(policy.action(time_step).action)

Subclasses implement `observation_spec`, `action_spec`, `_reset` and `_step`;
`reset` and `step` are a fixed template (overriding them raises). Stepping
after a LAST step (or before any reset) resets, when `handle_auto_reset`.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from policylib.base import contracts
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["PyEnvironment", "all_last"]


class PyEnvironment(metaclass=abc.ABCMeta):
    """Abstract Python environment.

    Args:
      handle_auto_reset: let `step` reset the environment when the current
        time step is LAST (or there is none yet), ignoring the action.
    """

    # Class-level defaults, for subclasses that never call __init__.
    _handle_auto_reset = False
    _current_time_step: ts.TimeStep | None = None

    def __init__(self, handle_auto_reset: bool = False):
        self._handle_auto_reset = handle_auto_reset
        self._current_time_step: ts.TimeStep | None = None
        contracts.assert_members_are_not_overridden(
            base_cls=PyEnvironment, instance=self, denylist=("reset", "step")
        )

    @property
    def batched(self) -> bool:
        """Whether actions and time steps carry a leading batch dim."""
        return False

    @property
    def batch_size(self) -> int | None:
        """The batch size of a batched environment; None otherwise."""
        if self.batched:
            raise RuntimeError(
                f"{type(self).__name__} is batched, so it must override batch_size."
            )
        return None

    @property
    def seeds_each_episode(self) -> bool:
        """Whether `seed` before `reset` can seed every episode.

        False for batches that reset their environments themselves and take
        seeds only at a full reset (EnvPool, Gymnasium's vector environments):
        `metric_utils` then seeds each environment's first episode only.
        """
        return True

    def should_reset(self, current_time_step: ts.TimeStep) -> bool:
        """True when `step` should reset instead (auto reset after a LAST step)."""
        if not self._handle_auto_reset:
            return False
        if self.batched:
            return all_last(current_time_step)
        return bool(current_time_step.is_last())

    @abc.abstractmethod
    def observation_spec(self) -> types.NestedArraySpec:
        """The nest of array specs of observations."""

    @abc.abstractmethod
    def action_spec(self) -> types.NestedArraySpec:
        """The nest of array specs of actions."""

    def reward_spec(self) -> types.NestedArraySpec:
        """The reward spec: a float32 scalar by default."""
        return array_spec.ArraySpec(shape=(), dtype=np.float32, name="reward")

    def discount_spec(self) -> types.NestedArraySpec:
        """The discount spec: a float32 in [0, 1]."""
        return array_spec.BoundedArraySpec(
            shape=(), dtype=np.float32, minimum=0.0, maximum=1.0, name="discount"
        )

    def time_step_spec(self) -> ts.TimeStep:
        """The `TimeStep` of specs of this environment's time steps."""
        return ts.time_step_spec(self.observation_spec(), self.reward_spec())

    def current_time_step(self) -> ts.TimeStep | None:
        """The last time step returned by `reset` or `step`."""
        return self._current_time_step

    def reset(self) -> ts.TimeStep:
        """Starts a new episode; returns its FIRST time step."""
        self._current_time_step = self._reset()
        return self._current_time_step

    def step(self, action: types.NestedArray) -> ts.TimeStep:
        """Applies `action`; returns the next time step.

        Before the first reset, or (with auto reset) after a LAST step, this
        resets and ignores `action`.
        """
        if self._current_time_step is None or self.should_reset(
            self._current_time_step
        ):
            return self.reset()
        self._current_time_step = self._step(action)
        return self._current_time_step

    def close(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Frees resources (processes, windows); a no-op by default."""

    def __enter__(self) -> PyEnvironment:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def render(self, mode: str = "rgb_array") -> types.NestedArray | None:
        """An image of the current state (`rgb_array`), if the environment can draw."""
        raise NotImplementedError(f"{type(self).__name__} does not render.")

    def seed(self, seed: types.Seed) -> Any:
        """Seeds the environment's randomness."""
        raise NotImplementedError(f"{type(self).__name__} cannot be seeded.")

    def get_info(self) -> types.NestedArray:
        """Extra information from the last step."""
        raise NotImplementedError(f"{type(self).__name__} has no info.")

    def get_state(self) -> Any:
        """A token that `set_state` takes to restore the current state."""
        raise NotImplementedError(f"{type(self).__name__} does not expose its state.")

    def set_state(self, state: Any) -> None:
        """Restores a state from `get_state`."""
        raise NotImplementedError(f"{type(self).__name__} cannot restore a state.")

    @abc.abstractmethod
    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        """Applies `action` and returns the next `TimeStep`; implemented by subclasses."""

    @abc.abstractmethod
    def _reset(self) -> ts.TimeStep:
        """Starts an episode and returns its first `TimeStep`; implemented by subclasses."""


def all_last(time_step: ts.TimeStep) -> bool:
    """Whether every entry of `time_step` is LAST (`np.all(is_last())`, ~3x faster).

    NumPy arrays and scalars answer through their own `.all()`; anything else
    (a tensor, a list) through `np.all`.
    """
    last = time_step.is_last()
    if isinstance(last, (np.ndarray, np.generic)):
        return bool(last.all())
    return bool(np.all(last))
