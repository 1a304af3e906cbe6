"""`evaluate`: run a policy for some episodes and get every episode's return.

    from policylib.eval import evaluate
    result = evaluate("saved_policy", "CartPole-v1", num_episodes=100, num_envs=4, seed=0)
    print(result.mean_return, result.std_return)

One call takes a policy (py, TF, or a SavedModel path from policylib's or
TF-Agents' `PolicySaver`) and an environment (a Gymnasium id, a
`PyEnvironment` or a constructor), as Stable-Baselines3's `evaluate_policy`
does. It runs on `metric_utils.compute`, so episodes are assigned to the
environments up front and, with `seed`, episode k is reset with `seed + k`:
a deterministic policy gets the same per-episode returns for any `num_envs`.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from policylib.base import arg_checks
from policylib.environments import batched_py_environment, py_environment, wrappers
from policylib.eval import metric_utils
from policylib.metrics import py_metric
from policylib.policies import policy_source, py_policy
from policylib.trajectories import trajectory as trajectory_lib

__all__ = [
    "EpisodeRecorder",
    "EpisodeRunner",
    "EvalResult",
    "evaluate",
    "resolve_policy",
]

EnvLike = (
    str | py_environment.PyEnvironment | Callable[[], py_environment.PyEnvironment]
)


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """Per-episode results of `evaluate`, in episode order, and their summary.

    Attributes:
      returns: the undiscounted return of each episode.
      lengths: the number of steps of each episode.
      wall_time_s: seconds the episodes took (environment creation excluded).
      env_name: the Gymnasium id, or the environment's class name.
      seed: the seed of episode 0 (episode k used `seed + k`), or None.
      num_envs: the environments each worker stepped together.
      num_workers: the processes or Ray actors that ran the episodes.
      backend: `"serial"` (this process), `"processes"` or `"ray"`.
      startup_s: seconds to start the workers (and connect to Ray) before
        the first episode; not part of `wall_time_s`.
      failures: one line per worker that died, naming it and why; its
        episodes were re-run on a new worker.
    """

    returns: tuple[float, ...]
    lengths: tuple[int, ...]
    wall_time_s: float
    env_name: str = ""
    seed: int | None = None
    num_envs: int = 1
    num_workers: int = 1
    backend: str = "serial"
    startup_s: float = 0.0
    failures: tuple[str, ...] = ()

    @property
    def num_episodes(self) -> int:
        return len(self.returns)

    @property
    def mean_return(self) -> float:
        return statistics.fmean(self.returns)

    @property
    def std_return(self) -> float:
        """Population standard deviation (as NumPy's and SB3's `np.std`)."""
        return statistics.pstdev(self.returns)

    @property
    def min_return(self) -> float:
        return min(self.returns)

    @property
    def max_return(self) -> float:
        return max(self.returns)

    @property
    def mean_length(self) -> float:
        return statistics.fmean(self.lengths)

    @property
    def total_steps(self) -> int:
        return sum(self.lengths)

    @property
    def steps_per_s(self) -> float:
        return self.total_steps / self.wall_time_s if self.wall_time_s > 0 else 0.0

    @property
    def episodes_per_s(self) -> float:
        return self.num_episodes / self.wall_time_s if self.wall_time_s > 0 else 0.0

    def summary(self) -> str:
        """One line: `Mean return: 498.20 ± 5.10 over 100 episodes (CartPole-v1)`."""
        where = f" ({self.env_name})" if self.env_name else ""
        return (
            f"Mean return: {self.mean_return:.2f} ± {self.std_return:.2f} over "
            f"{self.num_episodes} episodes{where}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Every field and summary statistic, as JSON-ready Python values."""
        return {
            "env": self.env_name,
            "seed": self.seed,
            "num_episodes": self.num_episodes,
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "min_return": self.min_return,
            "max_return": self.max_return,
            "mean_length": self.mean_length,
            "total_steps": self.total_steps,
            "wall_time_s": self.wall_time_s,
            "steps_per_s": self.steps_per_s,
            "episodes_per_s": self.episodes_per_s,
            "num_envs": self.num_envs,
            "num_workers": self.num_workers,
            "backend": self.backend,
            "startup_s": self.startup_s,
            "failures": list(self.failures),
            "returns": list(self.returns),
            "lengths": list(self.lengths),
        }


class EpisodeRecorder(py_metric.PyStepMetric):
    """Records the return and length of every episode, with its environment index.

    Takes batched or unbatched trajectories; boundary steps (and the steps
    `metric_utils.compute` hides once an environment has run its share) do
    not count. `on_episode` is called with (env index, return, length) as
    each episode ends.
    """

    def __init__(
        self,
        on_episode: Callable[[int, float, int], None] | None = None,
        name: str = "EpisodeRecorder",
    ):
        super().__init__(name)
        self._on_episode = on_episode
        self.episodes: list[tuple[int, float, int]] = []
        self._returns: np.ndarray | None = None
        self._lengths: np.ndarray | None = None

    def reset(self) -> None:
        self.episodes = []
        self._returns = self._lengths = None

    def call(self, trajectory: trajectory_lib.Trajectory) -> None:
        step_type = np.atleast_1d(trajectory.step_type)
        reward = np.asarray(trajectory.reward, np.float64).reshape(
            step_type.shape[0], -1
        )
        if reward.shape[1] != 1:
            raise ValueError(
                f"{self.name} needs one scalar reward per step; got rewards of shape "
                f"{np.shape(trajectory.reward)} for step types of shape "
                f"{np.shape(trajectory.step_type)}."
            )
        if self._returns is None or self._lengths is None:
            self._returns = np.zeros(step_type.shape[0], np.float64)
            self._lengths = np.zeros(step_type.shape[0], np.int64)
        first = np.atleast_1d(trajectory.is_first())
        self._returns[first] = 0.0
        self._lengths[first] = 0
        counted = ~np.atleast_1d(trajectory.is_boundary())
        self._returns[counted] += reward[counted, 0]
        self._lengths[counted] += 1
        for i in np.flatnonzero(np.atleast_1d(trajectory.is_last())):
            episode = (int(i), float(self._returns[i]), int(self._lengths[i]))
            self.episodes.append(episode)
            if self._on_episode is not None:
                self._on_episode(*episode)

    def result(self) -> int:
        """The number of episodes recorded."""
        return len(self.episodes)


def resolve_policy(policy: Any, allow_unsafe_ops: bool = False) -> py_policy.PyPolicy:
    """A py policy from a py policy, a TF policy, a SavedModel or LiteRT export path.

    `PolicySource.of(policy, allow_unsafe_ops).load()`: checked, then loaded.

    Raises:
      NotAPolicyError: a path that does not hold a saved policy.
      TypeError: anything else.
    """
    return policy_source.PolicySource.of(policy, allow_unsafe_ops).load()


def gymnasium_env(env: Any) -> Any:
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


def env_constructor(env: EnvLike) -> tuple[Callable[[], Any] | None, str]:
    """(zero-argument constructor, or None for an instance; display name).

    Raises:
      UnknownEnvironmentError: an id Gymnasium does not know.
      TypeError: `env` is not an id, an environment or a callable.
    """
    if isinstance(env, str):
        from policylib.environments import suite_gym

        suite_gym.check_id(env)
        return functools.partial(suite_gym.load, env), env
    if isinstance(env, py_environment.PyEnvironment):
        return None, env_name(env)
    if callable(env):
        return env, getattr(env, "__name__", type(env).__name__)
    raise TypeError(
        "env must be a Gymnasium id, a PyEnvironment or a zero-argument constructor; "
        f"got {type(env).__name__}."
    )


def _build(
    env: EnvLike, num_envs: int, max_steps: int | None
) -> tuple[Any, list[Any], str]:
    """(environment to run, environments to close afterwards, display name)."""
    make, name = env_constructor(env)
    if make is None:
        if num_envs != 1:
            raise ValueError(
                f"num_envs={num_envs} needs a Gymnasium id or an environment "
                "constructor, not an environment instance."
            )
        made: list[Any] = [env]
        owned: list[Any] = []
    else:
        made = [make() for _ in range(num_envs)]
        owned = list(made)
    for e in made:
        if not isinstance(e, py_environment.PyEnvironment):
            for o in owned:
                if isinstance(o, py_environment.PyEnvironment):
                    o.close()
            raise TypeError(
                f"The environment constructor returned {type(e).__name__!r}, "
                "not a PyEnvironment (use suite_gym.load for Gymnasium environments)."
            )
    if max_steps is not None:
        if any(e.batched for e in made):
            raise ValueError(
                "max_steps needs unbatched environments; wrap each environment of "
                "a batched one in wrappers.TimeLimit instead."
            )
        made = [wrappers.TimeLimit(e, duration=max_steps) for e in made]
    if not isinstance(env, str):  # a constructor's name says less than its env's
        name = env_name(made[0])
    if len(made) == 1:
        return made[0], owned, name
    return (
        batched_py_environment.BatchedPyEnvironment(made, multithreading=False),
        owned,
        name,
    )


class EpisodeRunner:
    """A policy and its environments, ready to run any episodes by index.

    What `evaluate` runs in this process and what each worker process or
    Ray actor holds: the environments are built once, then `run` plays the
    episodes it is given (episode k reset with `seed + k`), in any order
    and in any number of calls, with the same per-episode results.
    """

    def __init__(
        self,
        policy: py_policy.PyPolicy,
        env: EnvLike,
        num_envs: int,
        seed: int | None,
        max_steps: int | None,
    ):
        self.policy = policy
        self.seed = seed
        self.environment, self._owned, self.name = _build(env, num_envs, max_steps)
        self.num_envs = self.environment.batch_size if self.environment.batched else 1

    def run(
        self,
        episode_ids: Sequence[int],
        on_episode: Callable[[int, float, int], None] | None = None,
    ) -> dict[int, tuple[float, int]]:
        """Plays `episode_ids`; returns episode id -> (return, length).

        `on_episode(k, return, length)` is called as each episode ends.
        Runs of more episodes than environments assign them up front, as
        `metric_utils.compute` does.
        """
        episode_ids = list(episode_ids)
        shares = [episode_ids[i :: self.num_envs] for i in range(self.num_envs)]
        taken = [0] * self.num_envs
        results: dict[int, tuple[float, int]] = {}

        def record(env_index: int, ret: float, length: int) -> None:
            if taken[env_index] >= len(shares[env_index]):
                return  # an episode past this environment's share (hidden)
            k = shares[env_index][taken[env_index]]
            taken[env_index] += 1
            results[k] = (ret, length)
            if on_episode is not None:
                on_episode(k, ret, length)

        # With fewer episodes than environments the idle ones run nothing.
        recorder = EpisodeRecorder(on_episode=record)
        metric_utils.run_episodes(
            [recorder], self.environment, self.policy, episode_ids, seed=self.seed
        )
        return results

    def close(self) -> None:
        for e in self._owned:
            e.close()


def check_counts(num_episodes: int, num_envs: int, max_steps: int | None) -> None:
    """Raises ValueError for a count that is not a positive integer."""
    for arg, value in (("num_episodes", num_episodes), ("num_envs", num_envs)):
        if int(value) != value or value < 1:
            raise ValueError(f"{arg} must be a positive integer; got {value!r}.")
    if max_steps is not None and (int(max_steps) != max_steps or max_steps < 1):
        raise ValueError(
            f"max_steps must be a positive integer or None; got {max_steps!r}."
        )


BACKENDS = ("processes", "ray")


def evaluate(
    policy: Any,
    env: EnvLike,
    num_episodes: int = 10,
    *,
    num_envs: int = 1,
    seed: int | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    num_workers: int = 1,
    backend: str | None = None,
    ray_address: str | None = None,
    allow_unsafe_ops: bool = False,
) -> EvalResult:
    """Runs `num_episodes` episodes of `policy` in `env` and returns each one's result.

    Args:
      policy: a `PyPolicy`, a `TFPolicy`, the path of a SavedModel written
        by policylib's or TF-Agents' `PolicySaver`, or of a LiteRT export
        (`policylib.export.litert`, run by `LiteRTPolicy`).
      env: a Gymnasium id (`"CartPole-v1"`, loaded with `suite_gym.load`), a
        `PyEnvironment` (used as is; `num_envs` and `num_workers` must be 1),
        or a zero-argument constructor of one.
      num_episodes: episodes in total, assigned to workers and environments
        up front.
      num_envs: environments stepped together in each process, so the policy
        acts on a batch of `num_envs` time steps at each call.
      seed: if given, episode k is reset with `seed + k`, so the per-episode
        results do not depend on `num_envs`, `num_workers` or `backend`.
      max_steps: if given, an episode is cut (truncated) after this many steps.
      progress: show a progress bar of finished episodes (tqdm, on stderr),
        counting the episodes of all workers.
      num_workers: workers that share the episodes (worker w runs episodes
        k with k % num_workers == w), each with its own policy and
        `num_envs` environments.
      backend: where workers run: `"processes"` (worker processes on this
        machine; the default when `num_workers` > 1) or `"ray"` (Ray actors,
        needs `policylib[ray]`). None with one worker runs in this process.
      ray_address: the Ray cluster to use (`"HOST:PORT"` of `ray start
        --head`); None uses the Ray this process is connected to, else
        `RAY_ADDRESS`, else starts a local Ray on 127.0.0.1 for the call
        (it never joins another Ray already running on the machine).
      allow_unsafe_ops: load a SavedModel whose graph reads files or runs
        Python (passed to `policy_loader.load`); only for a policy you trust.

    Returns:
      An `EvalResult` with the returns and lengths in episode order; a
      worker that died and whose episodes were re-run is in its `failures`.

    Raises:
      ValueError: a count is not positive, the backend is unknown, or the
        policy's specs do not fit the environment's (the message names the
        differing leaf).
      NotAPolicyError: `policy` is a path that does not hold a saved policy.
      UnknownEnvironmentError: `env` is an id Gymnasium does not know.
      WorkerError: a worker raised, or died again when its episodes were
        re-run.
    """
    check_counts(num_episodes, num_envs, max_steps)
    arg_checks.check_int(num_workers, "num_workers", minimum=1, owner="evaluate")
    if backend is None and num_workers > 1:
        backend = "processes"
    if backend is not None and backend not in BACKENDS:
        raise ValueError(
            f"evaluate: backend must be one of {', '.join(map(repr, BACKENDS))} "
            f"or None; got {backend!r}."
        )
    if ray_address is not None and backend != "ray":
        raise ValueError(
            f'evaluate: ray_address needs backend="ray"; the backend is {backend!r}.'
        )
    source = policy_source.PolicySource.of(policy, allow_unsafe_ops)  # checked once
    make, name = env_constructor(env)
    if backend is not None and make is None:
        raise ValueError(
            f"evaluate: backend={backend!r} needs a Gymnasium id or an "
            "environment constructor, not an environment instance."
        )
    bar = _Progress(num_episodes, name, progress)
    try:
        if backend is None:
            bar.status("loading policy")
            runner = EpisodeRunner(
                source.load(), env, min(num_envs, num_episodes), seed, max_steps
            )
            name = runner.name
            try:
                bar.start_episodes()
                start = time.perf_counter()
                by_episode = runner.run(range(num_episodes), bar.episode_done)
                wall = time.perf_counter() - start
            finally:
                runner.close()
            startup, failures = 0.0, tuple[str, ...]()
        else:
            from policylib.eval import workers

            what = "Ray actors" if backend == "ray" else "worker processes"
            bar.status(f"starting {num_workers} {what}")
            run = workers.run(
                source.path if source.is_saved else source.policy,
                env,
                num_episodes,
                num_workers=num_workers,
                backend=backend,
                ray_address=ray_address,
                num_envs=num_envs,
                seed=seed,
                max_steps=max_steps,
                allow_unsafe_ops=allow_unsafe_ops,
                on_episode=bar.episode_done,
                on_started=bar.start_episodes,
            )
            by_episode, wall = run.episodes, run.wall_time_s
            startup, failures = run.startup_s, run.failures
        bar.refresh()  # the final count, whatever the refresh interval skipped
    finally:
        bar.close()
    episodes = [by_episode[k] for k in range(num_episodes)]
    return EvalResult(
        returns=tuple(r for r, _ in episodes),
        lengths=tuple(n for _, n in episodes),
        wall_time_s=wall,
        env_name=name,
        seed=seed,
        num_envs=min(num_envs, num_episodes),
        num_workers=num_workers,
        backend=backend or "serial",
        startup_s=startup,
        failures=tuple(failures),
    )


class _Progress:
    """The tqdm bar of `evaluate`: a status while loading, then episodes.

    Loading the policy and starting workers show as a status of their own;
    the bar's clock restarts when the first episode starts, so its
    episodes/s and ETA count episodes only.
    """

    def __init__(self, total: int, name: str, show: bool):
        from tqdm import tqdm

        self._title = f"Evaluating ({name})"
        self._bar = tqdm(
            total=total, desc=self._title, unit="episode", leave=False, disable=not show
        )
        self._started = False

    def status(self, text: str) -> None:
        self._bar.set_description_str(f"{self._title}: {text}")

    def start_episodes(self) -> None:
        if not self._started:
            self._started = True
            self._bar.set_description_str(self._title, refresh=False)
            self._bar.reset()  # restarts the clock: rates over episodes only

    def episode_done(self, *_: Any) -> None:
        self._bar.update(1)

    def refresh(self) -> None:
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
