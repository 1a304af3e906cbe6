"""Wrappers for Atari environments: frame stacking, time limits, FIRE on reset.

`FrameStack4` and `FireOnReset` wrap the Gymnasium environment (under
`GymWrapper`); `AtariTimeLimit` wraps the `PyEnvironment`. Like
`AtariPreprocessing`, the Gymnasium wrappers speak the API of the environment
they wrap (Gymnasium's, or old gym's bare observations and four-tuples).
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

import gin
import numpy as np

from policylib.base import extras
from policylib.environments import py_environment, wrappers
from policylib.environments.atari_preprocessing import (
    as_gymnasium_env,
    reset_kwargs,
    split_reset,
    split_step,
)
from policylib.trajectories import time_step as ts
from policylib.typing import types

if TYPE_CHECKING:
    import gymnasium
else:
    gymnasium = extras.require("gymnasium", extra="atari", feature="Atari environments")

__all__ = ["AtariTimeLimit", "FireOnReset", "FrameStack4"]


class FrameStack4(gymnasium.Wrapper):
    """Observations of the last four steps, concatenated on the last axis.

    An `(H, W, C)` image observation becomes `(H, W, 4 * C)`, oldest first
    (an `(H, W)` one becomes `(H, W, 4)`); after a reset the first frame fills
    all four places. Each observation is a new array, safe to keep.

    Unknown attributes are looked up on the wrapped environment, as
    TF-Agents' does (so `AtariTimeLimit` finds `game_over` below it).

    Args:
      env: the environment, usually `AtariPreprocessing`'d.

    Raises:
      ValueError: the observation space is missing or not an image Box.
    """

    STACK_SIZE = 4

    def __init__(self, env: Any):
        env = as_gymnasium_env(env)
        super().__init__(env)
        space = env.observation_space
        if space is None:
            raise ValueError("FrameStack4: the observation space is not initialized.")
        if not isinstance(space, gymnasium.spaces.Box) or len(space.shape) not in (
            2,
            3,
        ):
            raise ValueError(
                "FrameStack4 stacks image observations (a Box of shape (H, W) or "
                f"(H, W, C)); got {space!r}."
            )
        self._add_axis = len(space.shape) == 2
        low, high = (
            self._stack([space.low] * self.STACK_SIZE),
            self._stack([space.high] * self.STACK_SIZE),
        )
        self.observation_space = gymnasium.spaces.Box(
            low=low, high=high, dtype=space.dtype
        )
        self._frames: collections.deque[np.ndarray] = collections.deque(
            maxlen=self.STACK_SIZE
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or "env" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["env"], name)

    def _stack(self, frames: Any) -> np.ndarray:
        if self._add_axis:
            return np.stack(frames, axis=-1)
        return np.concatenate(frames, axis=-1)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> Any:
        """Resets `env`; the stack holds its first observation four times."""
        observation, info, old_api = split_reset(
            self.env.reset(**reset_kwargs(seed, options))
        )
        self._frames.clear()
        self._frames.extend([observation] * self.STACK_SIZE)
        stacked = self._stack(self._frames)
        return stacked if old_api else (stacked, info)

    def step(self, action: Any) -> Any:
        """Steps `env`; the observation is the last four stacked."""
        result = self.env.step(action)
        self._frames.append(result[0])
        return (self._stack(self._frames),) + tuple(result[1:])


@gin.configurable
class AtariTimeLimit(wrappers.PyEnvironmentBaseWrapper):
    """Ends episodes after `duration` steps, and resets only when the game is over.

    Unlike `TimeLimit`, an episode that ended on a lost life (see
    `AtariPreprocessing(terminal_on_life_loss=True)`) is not reset: the next
    `step` goes on with the same game and step count. Only when the game is
    over (`game_over` of the Gymnasium environment) or `duration` steps have
    passed does the next `step` reset. The `PyEnvironment` under it must not
    reset by itself (`suite_atari.load` makes it with `auto_reset=False`).

    Args:
      env: the `PyEnvironment` (a `GymWrapper` of an Atari environment).
      duration: the most steps per game; None for no limit but the game's.
    """

    def __init__(self, env: py_environment.PyEnvironment, duration: int | None):
        super().__init__(env)
        self._duration = duration
        self._num_steps = 0

    @property
    def duration(self) -> int | None:
        return self._duration

    def _reset(self) -> ts.TimeStep:
        self._num_steps = 0
        return self._env.reset()

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        if self.game_over:
            return self.reset()
        time_step = self._env.step(action)
        self._num_steps += 1
        if self._duration is not None and self._num_steps >= self._duration:
            time_step = time_step._replace(
                step_type=np.full_like(time_step.step_type, ts.StepType.LAST)
            )
        return time_step

    @property
    def game_over(self) -> bool:
        """Whether the step limit is reached or the game is over (the next step resets)."""
        if self._duration is not None and self._num_steps >= self._duration:
            return True
        return _game_over(self.gym)


def _game_over(gym_env: Any) -> bool:
    """`game_over` of the Gymnasium environment (any wrapper of it may hold it).

    Without one (no `AtariPreprocessing`), the emulator's own game-over flag.
    """
    flag = getattr(gym_env, "game_over", None)
    if flag is None and hasattr(gym_env, "get_wrapper_attr"):
        try:
            flag = gym_env.get_wrapper_attr("game_over")
        except AttributeError:
            flag = None
    if flag is None:
        ale = getattr(getattr(gym_env, "unwrapped", gym_env), "ale", None)
        return bool(ale.game_over()) if ale is not None else False
    return bool(flag)


class FireOnReset(gymnasium.Wrapper):
    """Starts every episode by pressing FIRE (action 1), then action 2.

    Some games (Breakout, BeamRider, Tennis, ...) wait for FIRE before they
    start; games whose action 1 is not FIRE (or that have under three
    actions) are reset as usual.
    """

    def __init__(self, env: Any):
        super().__init__(as_gymnasium_env(env))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> Any:
        """Resets `env`, then steps FIRE and action 2 if the game has FIRE."""
        result = self.env.reset(**reset_kwargs(seed, options))
        meanings = self.env.unwrapped.get_action_meanings()  # type: ignore[attr-defined]
        if len(meanings) < 3 or meanings[1] != "FIRE":
            return result
        self.env.step(1)
        observation, _, _, _, info, old_api = split_step(self.env.step(2))
        return observation if old_api else (observation, info)
