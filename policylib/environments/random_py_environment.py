"""`RandomPyEnvironment`: random observations from a spec, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from policylib.base import nest_utils
from policylib.environments import py_environment
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["RandomPyEnvironment"]

# (step_type, action, observation) -> reward, one per batch entry.
RewardFn = Callable[
    [types.NestedArray, types.NestedArray, types.NestedArray], npt.ArrayLike
]


class RandomPyEnvironment(py_environment.PyEnvironment):
    """Samples observations from `observation_spec`; episodes end at random.

    Args:
      observation_spec: nest of array specs to sample observations from.
      action_spec: nest of array specs; actions must have its structure.
      episode_end_probability: chance that a step ends the episode.
      discount: discount of MID steps (per batch entry if batched).
      reward_fn: `reward_fn(step_type, action, observation)` -> reward; 0 if None.
      batch_size: leading batch dim of observations and actions; None: unbatched.
      auto_reset: `step` after a LAST step resets.
      seed: seed of the NumPy generator.
      render_size: shape of the random `uint8` image `render` returns.
      min_duration: steps before an episode may end.
      max_duration: steps after which an episode always ends.

    Raises:
      ValueError: `discount` does not have one entry per batch entry.
    """

    def __init__(
        self,
        observation_spec: types.NestedArraySpec,
        action_spec: types.NestedArraySpec | None = None,
        episode_end_probability: float = 0.1,
        discount: types.Float = 1.0,
        reward_fn: RewardFn | None = None,
        batch_size: int | None = None,
        auto_reset: bool = True,
        seed: types.Seed = 42,
        render_size: Sequence[int] = (2, 2, 3),
        min_duration: int = 0,
        max_duration: int | None = None,
    ):
        self._batch_size = batch_size
        self._observation_spec = observation_spec
        self._action_spec = action_spec or []
        self._episode_end_probability = episode_end_probability
        discount = np.asarray(discount, dtype=np.float32)
        if batch_size:
            if not discount.shape:
                discount = np.tile(discount, batch_size)
            if len(discount) != batch_size:
                raise ValueError(
                    f"Size of discounts must equal the batch size: {len(discount)} "
                    f"vs {batch_size}."
                )
        self._discount = discount
        outer = () if batch_size is None else (batch_size,)
        self._reward_fn = reward_fn or (lambda *_: np.zeros(outer, dtype=np.float32))
        self._num_steps = 0
        self._min_duration = min_duration
        self._max_duration = max_duration
        self._rng = np.random.RandomState(seed)
        self._render_size = tuple(render_size)
        super().__init__(handle_auto_reset=auto_reset)

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def action_spec(self) -> types.NestedArraySpec:
        return self._action_spec

    @property
    def batch_size(self) -> int | None:
        return self._batch_size

    @property
    def batched(self) -> bool:
        return self._batch_size is not None

    def _observation(self) -> types.NestedArray:
        outer = (self._batch_size,) if self._batch_size else ()
        return array_spec.sample_spec_nest(self._observation_spec, self._rng, outer)

    def _reset(self) -> ts.TimeStep:
        self._num_steps = 0
        return ts.restart(self._observation(), self._batch_size)

    def _reward(
        self,
        step_type: types.NestedArray,
        action: types.NestedArray,
        observation: types.NestedArray,
    ) -> npt.ArrayLike:
        reward = self._reward_fn(step_type, action, observation)
        expected = () if self._batch_size is None else (self._batch_size,)
        if np.shape(reward) != expected:
            raise ValueError(
                f"{np.shape(reward)!r} != {expected!r}. Size of reward must equal the batch size."
            )
        return reward

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        if self._action_spec:
            nest_utils.assert_same_structure(self._action_spec, action)
        self._num_steps += 1
        observation = self._observation()
        if self._num_steps < self._min_duration:
            done = False
        elif self._max_duration and self._num_steps >= self._max_duration:
            done = True
        else:
            done = self._rng.uniform() < self._episode_end_probability
        if done:
            self._num_steps = 0
            reward = self._reward(ts.StepType.LAST, action, observation)
            return ts.termination(observation, reward)
        reward = self._reward(ts.StepType.MID, action, observation)
        return ts.transition(observation, reward, self._discount)

    def render(self, mode: str = "rgb_array") -> np.ndarray:
        if mode != "rgb_array":
            raise ValueError(
                f"Only rendering mode supported is 'rgb_array', got {mode} instead."
            )
        return self._rng.randint(0, 256, size=self._render_size, dtype=np.uint8)

    def seed(self, seed: types.Seed) -> None:
        self._rng.seed(seed)
