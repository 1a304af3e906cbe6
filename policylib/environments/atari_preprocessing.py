"""`AtariPreprocessing`: the Nature-DQN screen pipeline as a Gymnasium wrapper.

Each agent step repeats the action for `frame_skip` emulator steps, sums the
rewards, takes the pixel-wise maximum of the last two grey screens (Atari
sprites flicker between frames) and shrinks it to a `screen_size` square, as
in Mnih et al. (2015) and Machado et al. (2018). The grey screens are read
from the Arcade Learning Environment (`env.unwrapped.ale`, from ale-py), not
from the environment's observation, so any `obs_type` works.

The wrapper speaks the API of the environment it wraps: Gymnasium's
`(observation, info)` resets and five-tuple steps, or, for environments
written for the old gym API (TF-Agents' tests have some), bare observations
and four-tuples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gin
import numpy as np

from policylib.base import arg_checks, extras

if TYPE_CHECKING:
    import gymnasium
else:
    gymnasium = extras.require("gymnasium", extra="atari", feature="Atari environments")

__all__ = ["AtariPreprocessing"]


class _GymEnvView(gymnasium.Env):
    """A non-Gymnasium environment (gym 0.26's) seen as a `gymnasium.Env`.

    Gymnasium's wrappers accept only `gymnasium.Env`s; this forwards `reset`,
    `step` and every other attribute unchanged (results are not converted:
    the Atari wrappers read both APIs) and rebuilds gym spaces as Gymnasium's.
    """

    def __init__(self, env: Any):
        from policylib.environments.gym_wrapper import _from_old_gym

        self._old_env = env
        self.observation_space = _from_old_gym(env.observation_space)
        self.action_space = _from_old_gym(env.action_space)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_old_env" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_old_env"], name)

    def reset(self, **kwargs: Any) -> Any:
        return self._old_env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        return self._old_env.step(action)

    def render(self) -> Any:
        return self._old_env.render()

    def close(self) -> None:
        self._old_env.close()


def as_gymnasium_env(env: Any) -> gymnasium.Env:
    """`env` itself if it is a `gymnasium.Env`, else a view of it that is one."""
    return env if isinstance(env, gymnasium.Env) else _GymEnvView(env)


def reset_kwargs(seed: int | None, options: dict[str, Any] | None) -> dict[str, Any]:
    """The keyword arguments to pass on to a `reset` (none for old-API envs' defaults)."""
    kwargs: dict[str, Any] = {}
    if seed is not None:
        kwargs["seed"] = seed
    if options is not None:
        kwargs["options"] = options
    return kwargs


def split_reset(result: Any) -> tuple[Any, dict[str, Any], bool]:
    """(observation, info, old_api) of what a `reset` returned."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        return result[0], result[1], False
    return result, {}, True


def split_step(result: Any) -> tuple[Any, Any, bool, bool, Any, bool]:
    """(observation, reward, terminated, truncated, info, old_api) of a `step`'s result.

    Old-API four-tuples have one `done`, read as `terminated`.
    """
    if len(result) == 5:
        observation, reward, terminated, truncated, info = result
        return observation, reward, bool(terminated), bool(truncated), info, False
    observation, reward, done, info = result
    return observation, reward, bool(done), False, info, True


def _direct_ale_stepper(env: gymnasium.Env) -> tuple[Any, Any, int] | None:
    """(ale_env, action_set, frames_per_step) to step ale-py's `AtariEnv` directly, or None.

    `AtariEnv.step` copies the RGB screen and builds an info dict on every
    call; the preprocessing reads neither until the last frame, so when only
    Gymnasium's checking wrappers (those `gymnasium.make` adds, which change
    nothing after the first step) stand between this wrapper and a discrete,
    fixed-frameskip `AtariEnv`, the frames are run on the emulator itself,
    with the same rewards, terminations and screens. Anything else (another
    wrapper, stochastic frameskip, continuous actions, an unexpected ale-py)
    gets None: then `env.step` is called for every frame.
    """
    transparent = {"OrderEnforcing", "PassiveEnvChecker"}
    layer: Any = env
    while isinstance(layer, gymnasium.Wrapper):
        kind = type(layer)
        if kind.__name__ not in transparent or not kind.__module__.startswith(
            "gymnasium."
        ):
            return None
        layer = layer.env
    kind = type(layer)
    if kind.__module__ != "ale_py.env" or kind.__name__ != "AtariEnv":
        return None
    frameskip = getattr(layer, "_frameskip", None)
    action_set = getattr(layer, "_action_set", None)
    if (
        getattr(layer, "continuous", True)
        or isinstance(frameskip, bool)
        or not isinstance(frameskip, int)
        or frameskip < 1
        or action_set is None
        or not callable(getattr(layer, "_get_info", None))
    ):
        return None
    return layer, action_set, frameskip


@gin.configurable
class AtariPreprocessing(gymnasium.Wrapper):
    """Frame skip, max-pooling, grey scale and resizing for ale-py environments.

    `step` repeats the action `frame_skip` times (fewer when the episode, or
    with `terminal_on_life_loss` a life, ends first) and returns the summed
    reward and a `(screen_size, screen_size, 1)` uint8 image: the maximum of
    the last two grey screens, resized with area averaging (OpenCV's
    INTER_AREA). When a step ends early, the image is that of its last frame
    (TF-Agents returned a stale one). `reset` returns the first screen, resized.

    Wrap an environment without frame skip of its own (e.g.
    'PongNoFrameskip-v4'), or the skips multiply.

    Attributes:
      game_over: whether the game itself ended (or was truncated) at the last
        step; a lost life with `terminal_on_life_loss` ends the episode, not
        the game. `AtariTimeLimit` resets only then.
      lives: the lives left after the last frame run.

    Args:
      env: the Atari environment (its `unwrapped.ale` is read); Gymnasium's
        or one written for gym.
      frame_skip: emulator steps per agent step.
      terminal_on_life_loss: end the episode (terminated) when a life is lost.
      screen_size: the side of the square image returned.

    Raises:
      ValueError: `frame_skip` or `screen_size` is not positive, or `env` has
        no ALE.
      MissingExtraError: OpenCV is not installed.
    """

    def __init__(
        self,
        env: Any,
        frame_skip: int = 4,
        terminal_on_life_loss: bool = False,
        screen_size: int = 84,
    ):
        env = as_gymnasium_env(env)
        super().__init__(env)
        arg_checks.check_int(frame_skip, "frame_skip", owner="AtariPreprocessing")
        arg_checks.check_int(screen_size, "screen_size", owner="AtariPreprocessing")
        self.frame_skip = int(frame_skip)
        self.screen_size = int(screen_size)
        self.terminal_on_life_loss = bool(terminal_on_life_loss)
        self._cv2 = extras.require(
            "cv2", extra="atari", feature="Atari preprocessing wrappers"
        )
        ale: Any = getattr(env.unwrapped, "ale", None)
        if ale is None:
            raise ValueError(
                "AtariPreprocessing needs an Arcade Learning Environment: "
                f"{type(env.unwrapped).__name__} has no `ale` attribute (make the "
                "environment with suite_atari.load, or with gymnasium.make after "
                "importing ale_py)."
            )
        self._ale = ale
        self.observation_space = gymnasium.spaces.Box(
            low=0,
            high=255,
            shape=(self.screen_size, self.screen_size, 1),
            dtype=np.uint8,
        )
        shape, dtype = self._screen_layout(env)
        # The last two grey screens of a step; [1] is the later one.
        self._screens = (np.zeros(shape, dtype), np.zeros(shape, dtype))
        self._direct = _direct_ale_stepper(env)
        self.game_over = False
        self.lives = 0

    def _screen_layout(self, env: gymnasium.Env) -> tuple[tuple[int, int], np.dtype]:
        """(height, width) and dtype of the grey screens.

        ale-py's ALE fills uint8 screens of its own size; a stand-in ALE (as in
        tests) gets the size and dtype of the image observations, as TF-Agents
        read them.
        """
        space = env.observation_space
        shape: tuple[int, ...] = getattr(space, "shape", None) or ()
        if type(self._ale).__module__.startswith("ale_py") or len(shape) < 2:
            height, width = self._ale.getScreenDims()
            return (int(height), int(width)), np.dtype(np.uint8)
        dtype = np.dtype(getattr(space, "dtype", None) or np.uint8)
        return (int(shape[0]), int(shape[1])), dtype

    @property
    def ale(self) -> Any:
        """The Arcade Learning Environment of the wrapped environment."""
        return self._ale

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> Any:
        """Resets the game; returns the first screen, resized (with the info, for Gymnasium)."""
        _, info, old_api = split_reset(self.env.reset(**reset_kwargs(seed, options)))
        self.lives = int(self._ale.lives())
        self.game_over = False
        self._ale.getScreenGrayscale(self._screens[1])
        observation = self._resize(self._screens[1])
        return observation if old_api else (observation, info)

    def step(self, action: Any) -> Any:
        """Runs `action` for `frame_skip` frames; returns the pooled, resized screen.

        Returns:
          Gymnasium's (observation, reward, terminated, truncated, info), or
          gym's (observation, reward, done, info) when `env` returns four values.
        """
        if self._direct is not None:
            return self._step_on_ale(action)
        total = 0.0
        terminated = truncated = lost_life = old_api = False
        info: Any = {}
        frame = 0
        for frame in range(self.frame_skip):
            _, reward, terminated, truncated, info, old_api = split_step(
                self.env.step(action)
            )
            total += reward
            lost_life = self._lost_life()
            if terminated or truncated or lost_life:
                break
            self._keep_screen(frame)
        return self._finish(
            frame, total, terminated, truncated, lost_life, info, old_api
        )

    def _step_on_ale(self, action: Any) -> Any:
        """`step` run on the emulator directly (see `_direct_ale_stepper`)."""
        atari_env, action_set, frames_per_step = self._direct  # type: ignore[misc]
        ale = self._ale
        ale_action = action_set[action]
        total = 0.0
        terminated = truncated = lost_life = False
        frame = 0
        for frame in range(self.frame_skip):
            for _ in range(frames_per_step):
                total += ale.act(ale_action, 1.0)
            terminated = bool(ale.game_over(with_truncation=False))
            truncated = bool(ale.game_truncated())
            lost_life = self._lost_life()
            if terminated or truncated or lost_life:
                break
            self._keep_screen(frame)
        info = atari_env._get_info()
        return self._finish(frame, total, terminated, truncated, lost_life, info, False)

    def _lost_life(self) -> bool:
        """Updates `lives`; True when a life was lost and that ends the episode."""
        lives = int(self._ale.lives())
        lost = lives < self.lives
        self.lives = lives
        return lost and self.terminal_on_life_loss

    def _keep_screen(self, frame: int) -> None:
        """Stores the screen after `frame` if it is one of the step's last two."""
        if frame == self.frame_skip - 1:
            self._ale.getScreenGrayscale(self._screens[1])
        elif frame == self.frame_skip - 2:
            self._ale.getScreenGrayscale(self._screens[0])

    def _finish(
        self,
        frame: int,
        reward: float,
        terminated: bool,
        truncated: bool,
        lost_life: bool,
        info: Any,
        old_api: bool,
    ) -> Any:
        """The step's return value; `frame` is the last one run."""
        first, last = self._screens
        if terminated or truncated or lost_life:
            # Cut short before `_keep_screen`: keep the final screen, and pool it
            # alone unless the one before it is this step's too.
            self._ale.getScreenGrayscale(last)
            if frame != self.frame_skip - 1:
                first[...] = last
        if self.frame_skip > 1:
            np.maximum(first, last, out=first)
            observation = self._resize(first)
        else:
            observation = self._resize(last)
        self.game_over = terminated or truncated
        ended = terminated or lost_life
        if old_api:
            return observation, reward, ended or truncated, info
        return observation, reward, ended, truncated, info

    def _resize(self, screen: np.ndarray) -> np.ndarray:
        """`screen` shrunk to a (screen_size, screen_size, 1) uint8 array."""
        resized = self._cv2.resize(
            screen,
            (self.screen_size, self.screen_size),
            interpolation=self._cv2.INTER_AREA,
        )
        if resized.dtype != np.uint8:
            resized = np.clip(resized, 0, 255).astype(np.uint8)
        return resized[:, :, np.newaxis]
