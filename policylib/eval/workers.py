"""`evaluate` across worker processes or Ray actors, with the serial results.

Episodes are assigned up front: worker w of W runs episodes k with
k % W == w, each reset with `seed + k`, so a seeded deterministic policy
gets the same per-episode returns serially, in processes and on Ray. Each
worker loads the policy itself (`policy_payload`: a SavedModel path on this
machine, its bytes for Ray, a pickle for a pure-Python policy) and builds
its own environments (`EpisodeRunner`).

All workers start and load before the first episode (`startup_s`), so
`wall_time_s` times the episodes alone. A worker that dies (killed,
crashed, its node lost) is reported in `EvalResult.failures`, naming it
and why, and its unfinished episodes are re-run once on a new worker; if
that one dies too, `WorkerError`. An exception raised by the policy or the
environment inside a worker is `WorkerError` at once, with the worker's
traceback: the same seeded episodes would raise again.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import signal
import tempfile
import threading
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeAlias

import cloudpickle

from policylib.distributed import policy_payload, ray_cluster
from policylib.environments.env_construction import EnvLike
from policylib.errors import WorkerDiedWarning, WorkerError
from policylib.eval import episode_runner
from policylib.eval.episode_runner import OnEpisode
from policylib.export import policy_source

__all__ = ["WorkerRun", "run"]


@dataclasses.dataclass(frozen=True)
class WorkerRun:
    """Per-episode results of the workers, with their timings and failures."""

    episodes: dict[int, tuple[float, int]]
    wall_time_s: float
    startup_s: float
    failures: tuple[str, ...]


# ----------------------------------------------------------------------------
# What a worker reports, in order: `Ready`, then an `EpisodeDone` per episode
# and `Done`; or, at any point, `Failed` (it raised) or `Died` (it is gone).


@dataclasses.dataclass(frozen=True)
class Ready:
    """Worker `worker` has loaded its policy and environments, at `where`."""

    worker: int
    where: str


@dataclasses.dataclass(frozen=True)
class EpisodeDone:
    """Worker `worker` finished episode `episode` with this return and length."""

    worker: int
    episode: int
    episode_return: float
    length: int


@dataclasses.dataclass(frozen=True)
class Done:
    """Worker `worker` ran every episode it was sent."""

    worker: int


@dataclasses.dataclass(frozen=True)
class Failed:
    """Worker `worker` raised: `detail` is its traceback (or Ray's message)."""

    worker: int
    detail: str


@dataclasses.dataclass(frozen=True)
class Died:
    """Worker `worker`'s process or actor is gone, for `reason`."""

    worker: int
    reason: str


Event: TypeAlias = Ready | EpisodeDone | Done | Failed | Died


@dataclasses.dataclass(frozen=True)
class _Job:
    """What every worker builds its `EpisodeRunner` from."""

    policy: policy_payload.PolicyPayload
    env: bytes  # the cloudpickled Gymnasium id or constructor
    num_envs: int
    seed: int | None
    max_steps: int | None

    def runner(self) -> episode_runner.EpisodeRunner:
        return episode_runner.EpisodeRunner(
            self.policy.load(),
            cloudpickle.loads(self.env),
            self.num_envs,
            self.seed,
            self.max_steps,
        )


def run(
    source: policy_source.PolicySource,
    env: EnvLike,
    num_episodes: int,
    *,
    num_workers: int,
    portable: bool,
    ray_address: str | None,
    num_envs: int,
    seed: int | None,
    max_steps: int | None,
    on_episode: OnEpisode,
    on_started: Callable[[], None] | None = None,
) -> WorkerRun:
    """Runs the episodes on `num_workers` workers (arguments checked by `evaluate`).

    Args:
      portable: run on Ray actors, which get the policy's bytes; else on
        worker processes of this machine, which get its path.

    `on_started()` is called once every worker has loaded, just before the
    first episode starts (a progress bar restarts its clock there).
    """
    num_workers = min(num_workers, num_episodes)
    shares = {w: list(range(w, num_episodes, num_workers)) for w in range(num_workers)}
    num_envs = min(num_envs, len(shares[0]))  # worker 0 has the largest share
    with tempfile.TemporaryDirectory(prefix="policylib-eval-") as staging:
        start = time.perf_counter()
        payload = policy_payload.pack_source(
            source, portable=portable, staging_dir=staging
        )
        job = _Job(payload, cloudpickle.dumps(env), num_envs, seed, max_steps)
        if not portable:
            return _drive(_ProcessPool(job), shares, on_episode, start, on_started)
        with ray_cluster.connect(ray_address) as ray:
            ray_cluster.check_cpus(ray, len(shares), "evaluate")
            return _drive(_RayPool(ray, job), shares, on_episode, start, on_started)


# ----------------------------------------------------------------------------
# The driver loop, the same for both backends.


def _drive(
    pool: _Pool,
    shares: dict[int, list[int]],
    on_episode: OnEpisode,
    start: float,
    on_started: Callable[[], None] | None = None,
) -> WorkerRun:
    """Starts a worker per share, feeds the bar, re-runs a dead worker's episodes once.

    Every worker (or its replacement) has loaded before the first episode
    runs, so the episodes are timed apart from the start-up.
    """
    results: dict[int, tuple[float, int]] = {}
    unfinished = {w: set(ids) for w, ids in shares.items()}  # every worker started
    rerun_of: dict[int, int] = {}  # replacement worker -> the worker it replaces
    ready: set[int] = set()
    dead: set[int] = set()
    failures: list[str] = []
    total = sum(len(ids) for ids in shares.values())
    running = False

    def handle(event: Event) -> None:
        w = event.worker
        match event:
            case Ready():
                ready.add(w)
                if running:  # a replacement, loaded: give it its episodes
                    pool.run(w, sorted(unfinished[w]))
            case EpisodeDone(episode=k, episode_return=ret, length=length):
                if k not in results:
                    results[k] = (float(ret), int(length))
                    on_episode(k, ret, length)
                unfinished[w].discard(k)
            case Done():
                pass
            case Failed() | Died():
                dead.add(w)
                _handle_failure(event, pool, unfinished, rerun_of, failures)

    try:
        for w in shares:
            pool.start(w)
        while any(w not in ready and w not in dead for w in unfinished):
            handle(pool.next_event())
        startup = time.perf_counter() - start
        if on_started is not None:
            on_started()
        episodes_start = time.perf_counter()
        running = True
        for w in sorted(ready - dead):
            pool.run(w, sorted(unfinished[w]))
        while len(results) < total:
            handle(pool.next_event())
        return WorkerRun(
            results, time.perf_counter() - episodes_start, startup, tuple(failures)
        )
    finally:
        pool.close()


def _handle_failure(
    event: Failed | Died,
    pool: _Pool,
    unfinished: dict[int, set[int]],
    rerun_of: dict[int, int],
    failures: list[str],
) -> None:
    """A worker's error (raise) or death (start a replacement once, or raise)."""
    w = event.worker
    who = pool.describe(w)
    left = sorted(unfinished.get(w, ()))
    if isinstance(event, Failed):
        lines = [line for line in event.detail.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "an error"
        raise WorkerError(f"evaluate: {who} raised {last}\n{event.detail}")
    if not left:
        return  # it died after its last episode: nothing is lost
    line = f"{who} died ({event.reason}) with {len(left)} episodes unfinished"
    if w in rerun_of:
        original = pool.describe(rerun_of[w])
        raise WorkerError(
            f"evaluate: {line}; it was re-running the episodes of {original}, "
            f"which had died before. No result: episodes {_ranges(left)} could "
            "not be run."
        )
    replacement = max(unfinished) + 1
    failures.append(f"{line}; re-ran them on {pool.name} {replacement}")
    warnings.warn(failures[-1], WorkerDiedWarning, stacklevel=6)  # at evaluate's caller
    unfinished[replacement] = set(left)
    unfinished[w] = set()
    rerun_of[replacement] = w
    pool.start(replacement)


def _ranges(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:10]))
    return f"[{shown}{', ...' if len(ids) > 10 else ''}]"


class _Pool:
    """Workers that report their `Event`s on one queue."""

    name = "worker"

    def __init__(self) -> None:
        self._events: queue.Queue[Event] = queue.Queue()
        self._where: dict[int, str] = {}

    def start(self, w: int) -> None:
        raise NotImplementedError

    def run(self, w: int, episode_ids: list[int]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def next_event(self) -> Event:
        event = self._events.get()
        if isinstance(event, Ready):
            self._where[event.worker] = event.where
        return event

    def describe(self, w: int) -> str:
        where = self._where.get(w)
        return f"{self.name} {w}" + (f" ({where})" if where else "")


# ----------------------------------------------------------------------------
# Worker processes on this machine.


def _process_main(
    w: int, tasks: Connection, results: Connection, job_bytes: bytes
) -> None:
    """Worker process `w`: load, say ready, run the episodes it is sent, stream them."""
    try:
        job: _Job = cloudpickle.loads(job_bytes)
        runner = job.runner()
        results.send(Ready(w, f"pid {os.getpid()}"))
        episode_ids = tasks.recv()
        if episode_ids is None:
            return
        runner.run(
            episode_ids, lambda k, ret, n: results.send(EpisodeDone(w, k, ret, n))
        )
        runner.close()
        results.send(Done(w))
    except BaseException:  # noqa: BLE001 - every failure goes to the parent
        results.send(Failed(w, traceback.format_exc()))


class _ProcessPool(_Pool):
    """Worker processes (forkserver or spawn: TensorFlow must not be forked)."""

    def __init__(self, job: _Job):
        super().__init__()
        from policylib.system import system_multiprocessing

        self._context = system_multiprocessing.get_context()
        self._job = cloudpickle.dumps(job)
        self._workers: dict[int, tuple[BaseProcess, Connection]] = {}

    def start(self, w: int) -> None:
        tasks_r, tasks_w = self._context.Pipe(duplex=False)
        results_r, results_w = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_process_main,
            args=(w, tasks_r, results_w, self._job),
            name=f"policylib-eval-{w}",
            daemon=True,
        )
        process.start()
        tasks_r.close()
        results_w.close()
        self._workers[w] = (process, tasks_w)
        threading.Thread(
            target=self._watch, args=(w, process, results_r), daemon=True
        ).start()

    def _watch(self, w: int, process: BaseProcess, results: Connection) -> None:
        while True:
            try:
                event: Event = results.recv()
            except (EOFError, OSError):
                break
            self._events.put(event)
            if isinstance(event, (Done, Failed)):
                process.join()
                return
        process.join()
        self._events.put(Died(w, _exit_reason(process.exitcode)))

    def run(self, w: int, episode_ids: list[int]) -> None:
        try:
            self._workers[w][1].send(episode_ids)
        except OSError:  # it died meanwhile: its watcher reports how
            pass

    def close(self) -> None:
        for process, tasks in self._workers.values():
            if process.is_alive():
                try:
                    tasks.send(None)
                except OSError:
                    pass
        for process, tasks in self._workers.values():
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
            tasks.close()


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


# ----------------------------------------------------------------------------
# Ray actors.


class _RayEpisodeActor:
    """A Ray actor: loads the policy and environments, then runs episodes."""

    def __init__(self, job: _Job):
        import ray

        self._runner = job.runner()
        self._where = ray_cluster.where(ray)

    def where(self) -> str:
        return self._where

    def run(self, episode_ids: list[int]) -> Iterator[tuple[int, float, int]]:
        """Yields (k, return, length), one batch of `num_envs` episodes at a time."""
        step = self._runner.num_envs
        for i in range(0, len(episode_ids), step):
            for k, (ret, length) in sorted(
                self._runner.run(episode_ids[i : i + step]).items()
            ):
                yield (k, ret, length)


class _RayPool(_Pool):
    """One Ray actor per worker, each with a CPU; the policy goes through the object store."""

    name = "Ray actor"

    def __init__(self, ray: types.ModuleType, job: _Job):
        super().__init__()
        self._ray = ray
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0)(_RayEpisodeActor)
        self._job = ray.put(job)
        self._actors: dict[int, Any] = {}
        self._tasks: dict[int, queue.Queue[list[int] | None]] = {}
        self._watchers: list[threading.Thread] = []

    def start(self, w: int) -> None:
        actor = self._actor_class.remote(self._job)
        self._actors[w] = actor
        self._tasks[w] = queue.Queue()
        watcher = threading.Thread(target=self._watch, args=(w, actor), daemon=True)
        watcher.start()
        self._watchers.append(watcher)

    def _watch(self, w: int, actor: Any) -> None:
        ray = self._ray
        try:
            self._events.put(Ready(w, ray.get(actor.where.remote())))
            episode_ids = self._tasks[w].get()
            if episode_ids is None:
                return
            for ref in actor.run.remote(episode_ids):
                self._events.put(EpisodeDone(w, *ray.get(ref)))
            self._events.put(Done(w))
        except ray.exceptions.RayActorError as e:
            if e.actor_init_failed:
                self._events.put(Failed(w, str(e)))
            else:
                self._events.put(Died(w, _actor_death(e)))
        except ray.exceptions.RayError as e:
            self._events.put(Failed(w, str(e)))
        except BaseException:  # noqa: BLE001 - report, never hang the driver
            self._events.put(Failed(w, traceback.format_exc()))

    def run(self, w: int, episode_ids: list[int]) -> None:
        self._tasks[w].put(episode_ids)

    def close(self) -> None:
        for w, actor in self._actors.items():
            self._tasks[w].put(None)
            self._ray.kill(actor)
        # Killed actors end every pending `ray.get`; waiting here keeps a watcher
        # from calling Ray after the connection closes (Ray would start a new one).
        for watcher in self._watchers:
            watcher.join(timeout=30)


def _actor_death(error: Exception) -> str:
    """Ray's reason for an actor's death, in one short line."""
    text = " ".join(str(error).split())
    detail = re.search(r"Worker exit detail: (.*?\.)(?: |$)", text)
    if detail:
        return f"its process exited: {detail.group(1)}"
    because = re.search(r"The actor is dead because (.*?\.)(?: |$)", text)
    if because:
        return because.group(1)
    return text[:200] or type(error).__name__
