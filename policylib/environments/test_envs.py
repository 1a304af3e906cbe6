"""Small deterministic environments for tests: observations count steps."""

from __future__ import annotations

import gin
import numpy as np
import numpy.typing as npt

from policylib.environments import py_environment
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["CountingEnv", "EpisodeCountingEnv", "NestedCountingEnv"]


class _StepCounter(py_environment.PyEnvironment):
    """Episodes of `steps_per_episode` steps, reward 1 on the last; auto resets."""

    def __init__(self, steps_per_episode: int = 10):
        self._steps_per_episode = steps_per_episode
        self._episodes = 0
        self._steps = 0
        super().__init__(handle_auto_reset=True)

    def action_spec(self) -> types.NestedArraySpec:
        return array_spec.BoundedArraySpec((), np.int32, minimum=0, maximum=1)

    def _observation(self) -> types.NestedArray:
        raise NotImplementedError

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        del action
        self._steps += 1
        if self._steps < self._steps_per_episode:
            return ts.transition(self._observation(), 0)
        return ts.termination(self._observation(), 1)

    def _reset(self) -> ts.TimeStep:
        if self._current_time_step is not None and self._current_time_step.is_last():
            self._episodes += 1
        self._steps = 0
        return ts.restart(self._observation())


@gin.configurable
class CountingEnv(_StepCounter):
    """Observation: 10 * episode + step (the first episode: just step).

    Args:
      steps_per_episode: steps of each episode.
      dtype: dtype of observations and actions.
    """

    def __init__(self, steps_per_episode: int = 10, dtype: npt.DTypeLike = np.int32):
        self._dtype = np.dtype(dtype)
        super().__init__(steps_per_episode)

    def observation_spec(self) -> types.NestedArraySpec:
        return array_spec.BoundedArraySpec((), self._dtype)

    def action_spec(self) -> types.NestedArraySpec:
        return array_spec.BoundedArraySpec((), self._dtype, minimum=0, maximum=1)

    def _observation(self) -> np.ndarray:
        return np.array(10 * self._episodes + self._steps, self._dtype)

    def get_info(self) -> dict:
        return {}


@gin.configurable
class EpisodeCountingEnv(_StepCounter):
    """Observation: (episode, steps so far in the episode)."""

    def observation_spec(self) -> types.NestedArraySpec:
        return (
            array_spec.BoundedArraySpec((), np.int32),
            array_spec.BoundedArraySpec((), np.int32),
        )

    def _observation(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self._episodes, np.int32), np.array(self._steps, np.int32)


@gin.configurable
class NestedCountingEnv(_StepCounter):
    """Observation: {'total_steps': 10 * episode + step, 'current_steps': step}.

    Args:
      steps_per_episode: steps of each episode.
      nested_action: the action is {'foo', 'bar'} instead of one scalar.
    """

    def __init__(self, steps_per_episode: int = 10, nested_action: bool = False):
        self._nested_action = nested_action
        super().__init__(steps_per_episode)

    def observation_spec(self) -> types.NestedArraySpec:
        return {
            "total_steps": array_spec.BoundedArraySpec((), np.int32),
            "current_steps": array_spec.BoundedArraySpec((), np.int32),
        }

    def action_spec(self) -> types.NestedArraySpec:
        scalar = super().action_spec()
        return {"foo": scalar, "bar": scalar} if self._nested_action else scalar

    def _observation(self) -> dict[str, np.ndarray]:
        return {
            "total_steps": np.array(10 * self._episodes + self._steps, np.int32),
            "current_steps": np.array(self._steps, np.int32),
        }
