"""`EpisodeRunner`: a policy and its environments, playing episodes by index.

What `evaluate` runs in this process and what each of its worker processes
or Ray actors holds. Episodes are assigned to the environments up front
(as `metric_utils.compute` does) and episode k is reset with `seed + k`, so
the per-episode results depend neither on `num_envs` nor on how the
episodes are split between calls or workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from policylib.environments import batched_py_environment, py_environment, wrappers
from policylib.environments.env_construction import (
    EnvLike,
    EnvPoolConstructor,
    env_constructor,
    env_name,
)
from policylib.eval import metric_utils
from policylib.metrics import py_metric
from policylib.policies import py_policy
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory as trajectory_lib

__all__ = ["EpisodeRecorder", "EpisodeRunner", "OnEpisode"]

# Called with (episode or env index, return, length) as each episode ends.
OnEpisode = Callable[[int, float, int], None]


class EpisodeRecorder(py_metric.PyStepMetric):
    """Records the return and length of every episode, with its environment index.

    Takes batched or unbatched trajectories; boundary steps (and the steps
    `metric_utils.compute` hides once an environment has run its share) do
    not count. `on_episode` is called with (env index, return, length) as
    each episode ends.
    """

    def __init__(
        self,
        on_episode: OnEpisode | None = None,
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
        # Masks from the step types once, and mid-episode batches (nearly every
        # step) in whole-array operations: this runs on every evaluation step.
        first = step_type == ts.StepType.FIRST
        if first.any():
            self._returns[first] = 0.0
            self._lengths[first] = 0
        counted = step_type != ts.StepType.LAST  # not a boundary
        if counted.all():
            self._returns += reward[:, 0]
            self._lengths += 1
        else:
            self._returns[counted] += reward[counted, 0]
            self._lengths[counted] += 1
        last = np.atleast_1d(trajectory.next_step_type) == ts.StepType.LAST
        if not last.any():
            return
        for i in np.flatnonzero(last):
            episode = (int(i), float(self._returns[i]), int(self._lengths[i]))
            self.episodes.append(episode)
            if self._on_episode is not None:
                self._on_episode(*episode)

    def result(self) -> int:
        """The number of episodes recorded."""
        return len(self.episodes)


def _build(
    env: EnvLike, num_envs: int, max_steps: int | None
) -> tuple[py_environment.PyEnvironment, list[py_environment.PyEnvironment], str]:
    """(environment to run, environments to close afterwards, display name).

    An EnvPool task is one pool of `num_envs` (EnvPool batches and cuts its
    episodes itself); other constructors are called once per environment.
    """
    make, name = env_constructor(env)
    if isinstance(make, EnvPoolConstructor):
        pool = make.batch(num_envs, max_steps)
        return pool, [pool], name
    if make is None:
        if num_envs != 1:
            raise ValueError(
                f"num_envs={num_envs} needs a Gymnasium id or an environment "
                "constructor, not an environment instance."
            )
        assert isinstance(env, py_environment.PyEnvironment)
        made: list[py_environment.PyEnvironment] = [env]
        owned: list[py_environment.PyEnvironment] = []
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
        batch_size = self.environment.batch_size if self.environment.batched else 1
        self.num_envs: int = batch_size or 1

    def run(
        self,
        episode_ids: Sequence[int],
        on_episode: OnEpisode | None = None,
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
