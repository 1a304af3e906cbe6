"""Pictures of an evaluation: a plot of per-episode returns, a video of an episode.

Both need optional extras: `policylib[plot]` (matplotlib) for `plot_returns`,
`policylib[video]` (imageio, its ffmpeg plugin, and Gymnasium's renderers)
for `record_episode`.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from policylib.base import extras
from policylib.environments import py_environment
from policylib.environments.env_construction import gymnasium_env
from policylib.eval.evaluation import EvalResult
from policylib.export import policy_source
from policylib.policies import py_policy

__all__ = ["VIDEO_SUFFIXES", "plot_returns", "record_episode"]

VIDEO_SUFFIXES = (".mp4", ".gif")


def plot_returns(result: EvalResult, path: str | os.PathLike[str]) -> str:
    """Writes a PNG of each episode's return with their mean, and returns its path."""
    matplotlib = extras.require("matplotlib", extra="plot", feature="Return plots")
    matplotlib.use("Agg", force=False)
    pyplot = extras.require("matplotlib.pyplot", extra="plot", feature="Return plots")
    ticker = extras.require("matplotlib.ticker", extra="plot", feature="Return plots")
    figure, axes = pyplot.subplots(figsize=(7, 3.5), dpi=100)
    episodes = np.arange(result.num_episodes)
    axes.plot(
        episodes, result.returns, marker="o", markersize=3, linewidth=1, label="return"
    )
    axes.axhline(
        result.mean_return,
        color="tab:orange",
        linestyle="--",
        label=f"mean {result.mean_return:.1f} ± {result.std_return:.1f}",
    )
    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.set_xlabel("episode")
    axes.set_ylabel("return")
    axes.set_title(f"{result.env_name or 'evaluation'}: {result.num_episodes} episodes")
    axes.legend(loc="lower right")
    figure.tight_layout()
    path = os.fspath(path)
    figure.savefig(path)
    pyplot.close(figure)
    return path


@dataclasses.dataclass(frozen=True)
class Recording:
    """A video `record_episode` wrote: where, how many frames, at what rate."""

    path: str
    frames: int
    fps: float


def record_episode(
    policy: policy_source.PolicyArg,
    env_id: str,
    path: str | os.PathLike[str],
    *,
    seed: int | None = None,
    max_steps: int | None = None,
    fps: float | None = None,
) -> Recording:
    """Runs one episode of `policy` in `env_id` and writes its frames.

    The environment comes from the suite `evaluate` uses for the id (Atari
    games and MuJoCo tasks included: the video shows the game's own RGB
    frames, not what the policy sees), renders 'rgb_array' frames and is reset
    with `seed`, so with `evaluate`'s seed this is its episode 0.

    Args:
      policy: as for `evaluate` (py policy, TF policy, SavedModel or LiteRT
        export path); a `PolicySource` already loaded is not loaded again.
      env_id: an id, as `evaluate` takes it (not an 'envpool:' one).
      path: an `.mp4` or `.gif` file.
      seed: the reset seed.
      max_steps: cut the episode after this many steps.
      fps: frames per second of the video; None plays it at the
        environment's own rate (its `render_fps` metadata, else 30).

    Returns:
      A `Recording`: the file's path, its frame count and frame rate.

    Raises:
      ValueError: `path` is neither `.mp4` nor `.gif`.
      MissingExtraError: imageio (or its ffmpeg plugin for MP4) is missing.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"A video file must end in .mp4 or .gif; got {path!r}.")
    imageio = extras.require("imageio.v2", extra="video", feature="Videos")
    if suffix == ".mp4":
        extras.require("imageio_ffmpeg", extra="video", feature="MP4 videos")
    from policylib.environments import env_construction

    py_pol = policy_source.PolicySource.of(policy).load()
    # rgb_array frames need no window; without this SDL looks for a display.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    env = env_construction.load(env_id, seed=seed)  # renders rgb_array frames
    try:
        frames = _episode_frames(py_pol, env, max_steps)
        fps = fps or _render_fps(env)
    finally:
        env.close()
    options: dict[str, float | int] = {"fps": fps}
    if suffix == ".mp4":
        options["macro_block_size"] = 1  # any frame size, no resizing notice
    else:
        options = {"duration": 1000 / fps, "loop": 0}
    imageio.mimsave(path, frames, **options)
    return Recording(os.path.abspath(path), len(frames), fps)


def _episode_frames(
    policy: py_policy.PyPolicy,
    env: py_environment.PyEnvironment,
    max_steps: int | None,
) -> list[np.ndarray]:
    """The rendered frames of one episode, the first and the last state included."""
    time_step = env.reset()
    state = policy.get_initial_state(None)
    frames = [_frame(env)]
    steps = 0
    while not time_step.is_last() and (max_steps is None or steps < max_steps):
        action_step = policy.action(time_step, state)
        state = action_step.state
        time_step = env.step(action_step.action)
        frames.append(_frame(env))
        steps += 1
    return frames


def _render_fps(env: py_environment.PyEnvironment) -> float:
    """The environment's own frame rate (Gymnasium's `render_fps`), else 30."""
    metadata = getattr(gymnasium_env(env), "metadata", None) or {}
    fps = metadata.get("render_fps")
    return float(fps) if isinstance(fps, (int, float)) and fps > 0 else 30.0


def _frame(env: py_environment.PyEnvironment) -> np.ndarray:
    from policylib.environments.gym_wrapper import gymnasium

    try:
        frame = env.render("rgb_array")
    except gymnasium.error.DependencyNotInstalled as e:
        # Gymnasium names its own extra; the video extra of policylib brings it.
        raise extras.missing(
            getattr(e, "name", None) or "pygame", "video", "Videos of this environment"
        ) from e
    if frame is None:
        raise ValueError("The environment rendered no frame in rgb_array mode.")
    return np.asarray(frame, np.uint8)
