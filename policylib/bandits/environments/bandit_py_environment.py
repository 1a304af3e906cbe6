"""`BanditPyEnvironment`: the base class of NumPy bandit environments.

A bandit episode is one step long: `reset` shows a context (FIRST time step),
`step(action)` returns the reward for that context and the next context in a
LAST time step. Subclasses only say how contexts are drawn (`_observe`) and
how an action is rewarded (`_apply_action`):

    class TwoArms(BanditPyEnvironment):
        def _observe(self):
            return np.zeros([1], np.float32)

        def _apply_action(self, action):
            return np.float32(action == 1)
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np

from policylib.base.lazy_tf import nest
from policylib.environments import py_environment
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["BanditPyEnvironment"]


class BanditPyEnvironment(py_environment.PyEnvironment):
    """Base class of Python bandit environments.

    Args:
      observation_spec: nest of `ArraySpec`s of one (unbatched) context.
      action_spec: nest of `BoundedArraySpec`s of one action.
      reward_spec: spec (or nest of specs, e.g. reward and constraint) of one
        reward; None means a float32 scalar.
      name: the environment's name.
    """

    # Every step ends a one-step episode (the drivers read this: see
    # `policylib.drivers.dynamic_step_driver.is_bandit_env`).
    one_step_episodes: ClassVar[bool] = True

    def __init__(
        self,
        observation_spec: types.NestedArraySpec,
        action_spec: types.NestedArraySpec,
        reward_spec: types.NestedArraySpec | None = None,
        name: str | None = None,
    ):
        self._observation_spec = observation_spec
        self._action_spec = action_spec
        self._reward_spec = reward_spec
        self._name = name
        super().__init__()

    @property
    def name(self) -> str | None:
        return self._name

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def action_spec(self) -> types.NestedArraySpec:
        return self._action_spec

    def reward_spec(self) -> types.NestedArraySpec:
        if self._reward_spec is None:
            return super().reward_spec()
        return self._reward_spec

    def _reset(self) -> ts.TimeStep:
        # Bandit subclasses must not override this: a context, zero reward.
        return ts.restart(
            self._observe(), batch_size=self.batch_size, reward_spec=self.reward_spec()
        )

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        # The reward is for the context shown last; then the next context.
        action = self._as_arrays(action)
        reward = self._conform_reward(self._apply_action(action))
        return ts.termination(self._observe(), reward)

    def _as_arrays(self, action: types.NestedArray) -> types.NestedArray:
        """`action` with one array per leaf of the action spec (lists become arrays)."""
        spec = self.action_spec()
        if spec is None:
            return action
        try:
            return nest.map_structure_up_to(spec, np.asarray, action)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"{type(self).__name__}: the action {action!r:.200} does not match "
                f"the structure of the action spec {spec}: {e}"
            ) from None

    def _conform_reward(self, reward: Any) -> Any:
        """The reward as arrays of the reward spec's dtypes (lists, float64 -> float32).

        A reward whose structure differs from the spec is returned as arrays,
        uncast: plain Python use does not need it to match.
        """
        spec = self.reward_spec()
        try:
            return nest.map_structure_up_to(
                spec, lambda s, r: np.asarray(r, dtype=s.dtype), spec, reward
            )
        except (TypeError, ValueError):
            return nest.map_structure(np.asarray, reward)

    def _batched_actions(
        self, action: types.NestedArray, num_actions: int | None = None
    ) -> np.ndarray:
        """`action` as a 1-D array with one action per batch entry.

        Raises:
          ValueError: another number of actions than `batch_size`, or (given
            `num_actions`) an action outside `[0, num_actions)`.
        """
        action = np.asarray(action)
        if action.ndim != 1 or action.shape[0] != self.batch_size:
            raise ValueError(
                "Number of actions must match batch size: expected "
                f"{self.batch_size} actions, got an action array of shape "
                f"{action.shape}."
            )
        if num_actions is not None and action.size:
            if action.dtype.kind not in "iu" or not (
                0 <= action.min() and action.max() < num_actions
            ):
                raise ValueError(
                    f"Actions must be ints in [0, {num_actions - 1}]; got {action}."
                )
        return action

    def _empty_observation(self) -> types.NestedArray:
        """Zeros shaped like one (unbatched) observation."""
        return nest.map_structure(
            lambda s: np.zeros(s.shape, s.dtype), self.observation_spec()
        )

    @abc.abstractmethod
    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        """The reward (per batch entry, if batched) for `action` in the last context."""

    @abc.abstractmethod
    def _observe(self) -> types.NestedArray:
        """Draws and returns the next context (batched, if the environment is)."""
