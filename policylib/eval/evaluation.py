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
import enum
import statistics
import time

from policylib.base import arg_checks
from policylib.environments.env_construction import EnvLike, env_constructor
from policylib.export import policy_source
from policylib.export.policy_source import PolicyArg
from policylib.policies import py_policy

__all__ = ["Backend", "EvalResult", "evaluate", "resolve_policy"]


class Backend(str, enum.Enum):
    """Where `evaluate` runs the episodes (equal to its value: `Backend.RAY == "ray"`)."""

    SERIAL = "serial"  # this process
    PROCESSES = "processes"  # worker processes on this machine
    RAY = "ray"  # Ray actors

    @classmethod
    def of(cls, backend: Backend | str | None, num_workers: int) -> Backend:
        """The backend `evaluate(backend=...)` names; None picks by `num_workers`.

        Raises:
          ValueError: an unknown name, or `SERIAL` with several workers.
        """
        if backend is None:
            return cls.SERIAL if num_workers == 1 else cls.PROCESSES
        try:
            chosen = backend if isinstance(backend, Backend) else cls(backend)
        except ValueError:
            names = ", ".join(repr(b.value) for b in cls)
            raise ValueError(
                f"evaluate: backend must be one of {names} or None; got {backend!r}."
            ) from None
        if chosen is cls.SERIAL and num_workers > 1:
            raise ValueError(
                f'evaluate: backend="serial" runs one worker; got num_workers={num_workers}.'
            )
        return chosen


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
      backend: `Backend.SERIAL` (this process), `PROCESSES` or `RAY`; equal
        to the strings `"serial"`, `"processes"` and `"ray"`.
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
    backend: Backend = Backend.SERIAL
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

    def to_dict(self) -> dict[str, object]:
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
            "backend": self.backend.value,
            "startup_s": self.startup_s,
            "failures": list(self.failures),
            "returns": list(self.returns),
            "lengths": list(self.lengths),
        }


def resolve_policy(
    policy: PolicyArg, allow_unsafe_ops: bool = False
) -> py_policy.PyPolicy:
    """A py policy from a py policy, a TF policy, a SavedModel or LiteRT export path.

    `PolicySource.of(policy, allow_unsafe_ops).load()`: checked, then loaded.

    Raises:
      NotAPolicyError: a path that does not hold a saved policy.
      TypeError: anything else.
    """
    return policy_source.PolicySource.of(policy, allow_unsafe_ops).load()


def check_counts(num_episodes: int, num_envs: int, max_steps: int | None) -> None:
    """Raises ValueError for a count that is not a positive integer."""
    for arg, value in (("num_episodes", num_episodes), ("num_envs", num_envs)):
        if int(value) != value or value < 1:
            raise ValueError(f"{arg} must be a positive integer; got {value!r}.")
    if max_steps is not None and (int(max_steps) != max_steps or max_steps < 1):
        raise ValueError(
            f"max_steps must be a positive integer or None; got {max_steps!r}."
        )


def evaluate(
    policy: PolicyArg,
    env: EnvLike,
    num_episodes: int = 10,
    *,
    num_envs: int = 1,
    seed: int | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    num_workers: int = 1,
    backend: Backend | str | None = None,
    ray_address: str | None = None,
    allow_unsafe_ops: bool = False,
) -> EvalResult:
    """Runs `num_episodes` episodes of `policy` in `env` and returns each one's result.

    Args:
      policy: a `PyPolicy`, a `TFPolicy`, the path of a SavedModel written
        by policylib's or TF-Agents' `PolicySaver`, or of a LiteRT export
        (`policylib.export.litert`, run by `LiteRTPolicy`).
      env: a Gymnasium id (`"CartPole-v1"`, loaded with `suite_gym.load`),
        `"envpool:"` and an EnvPool task (`"envpool:CartPole-v1"`: one pool
        of `num_envs`, from `suite_envpool.load`), a `PyEnvironment` (used as
        is; `num_envs` and `num_workers` must be 1), or a zero-argument
        constructor of one.
      num_episodes: episodes in total, assigned to workers and environments
        up front.
      num_envs: environments stepped together in each process, so the policy
        acts on a batch of `num_envs` time steps at each call.
      seed: if given, episode k is reset with `seed + k`, so the per-episode
        results do not depend on `num_envs`, `num_workers` or `backend`. An
        EnvPool pool takes seeds only when made: each of its environments
        seeds its first episode so, and its later ones follow (repeatable for
        the same `seed`, `num_envs` and `num_workers`).
      max_steps: if given, an episode is cut (truncated) after this many steps.
      progress: show a progress bar of finished episodes (tqdm, on stderr),
        counting the episodes of all workers.
      num_workers: workers that share the episodes (worker w runs episodes
        k with k % num_workers == w), each with its own policy and
        `num_envs` environments.
      backend: where the episodes run, a `Backend` or its value:
        `"serial"` (this process, one worker; the default for one worker),
        `"processes"` (worker processes on this machine; the default when
        `num_workers` > 1) or `"ray"` (Ray actors, needs `policylib[ray]`).
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
      UnknownEnvironmentError: `env` is an id Gymnasium (or EnvPool) does
        not know.
      WorkerError: a worker raised, or died again when its episodes were
        re-run.
    """
    check_counts(num_episodes, num_envs, max_steps)
    arg_checks.check_int(num_workers, "num_workers", minimum=1, owner="evaluate")
    backend = Backend.of(backend, num_workers)  # a name becomes a Backend once
    if ray_address is not None and backend is not Backend.RAY:
        raise ValueError(
            f'evaluate: ray_address needs backend="ray"; the backend is {backend.value!r}.'
        )
    source = policy_source.PolicySource.of(policy, allow_unsafe_ops)  # checked once
    make, name = env_constructor(env)
    if backend is not Backend.SERIAL and make is None:
        raise ValueError(
            f"evaluate: backend={backend.value!r} needs a Gymnasium id or an "
            "environment constructor, not an environment instance."
        )
    bar = _Progress(num_episodes, name, progress)
    try:
        if backend is Backend.SERIAL:
            from policylib.eval import episode_runner

            bar.status("loading policy")
            runner = episode_runner.EpisodeRunner(
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

            what = "Ray actors" if backend is Backend.RAY else "worker processes"
            bar.status(f"starting {num_workers} {what}")
            run = workers.run(
                source,
                env,
                num_episodes,
                num_workers=num_workers,
                portable=backend is Backend.RAY,
                ray_address=ray_address,
                num_envs=num_envs,
                seed=seed,
                max_steps=max_steps,
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
        backend=backend,
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

    def episode_done(self, *_: object) -> None:
        self._bar.update(1)

    def refresh(self) -> None:
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
