"""`RayCollector`: K Ray actors collect experience for one learner.

    collector = RayCollector("CartPole-v1", agent.collect_policy, num_actors=2, seed=0)
    for _ in range(rounds):
        batches = collector.collect(steps_per_actor=100)
        collector.add_to(replay_buffer, batches)
        ...train on the buffer...
        collector.update(agent.collect_policy)      # push the new weights
    collector.close()

Each actor holds its own environment and a policy loaded from the learner's
`PolicySaver` export (a TF policy given here is exported first; the export
travels as bytes, so actors may be on other machines). `update` pushes the
learner's current variables (or a new export), and bumps the policy version.

An actor steps its environment with a `PyDriver`. By default it sends back
whole episodes only, each ending with its boundary step, so trajectories from
different actors never join mid-episode: a replay buffer of batch size 1
(`TFUniformReplayBuffer(batch_size=1)`, `PyUniformReplayBuffer`) sees the
stream a single environment would give. An episode still running at the end
of a round continues in the next. With `whole_episodes=False` every actor
sends every step of the round at once, the running episode's too, and
`add_to` writes actor i's steps to row i of a buffer with one row per actor
(`TFUniformReplayBuffer(batch_size=num_actors)`), as parallel environments
would: the learner sees new data a round after it was collected, not an
episode after. Every step records the policy version that chose its action,
so `add_to(..., min_version=v)` drops episodes collected (even in part) with
an older policy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import tempfile
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cloudpickle
import numpy as np
import tree

from policylib.base import arg_checks
from policylib.distributed import policy_payload, ray_cluster
from policylib.environments.env_construction import EnvLike, env_constructor
from policylib.export.policy_source import LivePolicy

if TYPE_CHECKING:
    import tensorflow as tf

    from policylib.replay_buffers import replay_buffer as replay_buffer_lib
    from policylib.trajectories import trajectory as trajectory_lib

__all__ = ["CollectedEpisodes", "RayCollector"]


@dataclasses.dataclass(frozen=True)
class CollectedEpisodes:
    """What one actor collected in one round.

    Attributes:
      actor: the actor's index.
      trajectory: a `Trajectory` of NumPy arrays with outer dim [T]: whole
        episodes one after another, each ending with its boundary step; with
        `whole_episodes=False`, the round's steps in order (the first and
        last episode may be parts).
      policy_versions: int64 [T], the policy version that acted at each step.
      episode_returns: the undiscounted return of each episode that ended in
        this round (counted over its whole length).
      episode_lengths: those episodes' steps (boundary steps not counted).
    """

    actor: int
    trajectory: trajectory_lib.Trajectory
    policy_versions: np.ndarray
    episode_returns: tuple[float, ...]
    episode_lengths: tuple[int, ...]

    @property
    def num_steps(self) -> int:
        """Items in `trajectory` (boundary steps included)."""
        return int(self.policy_versions.shape[0])

    @property
    def policy_version(self) -> int:
        """The oldest policy version in these episodes."""
        return int(self.policy_versions.min()) if self.num_steps else -1


class _CollectActor:
    """A Ray actor: an environment, a policy and the episode it is in."""

    def __init__(
        self,
        index: int,
        env: bytes,
        payload: policy_payload.PolicyPayload,
        seed: int | None,
        whole_episodes: bool,
    ):
        import ray

        self._index = index
        make, _ = env_constructor(cloudpickle.loads(env))
        if make is None:
            raise TypeError("RayCollector needs a Gymnasium id or an env constructor.")
        self._env = make()
        if seed is not None:
            self._env.seed(seed + index)
            import tensorflow as tf

            tf.random.set_seed(seed + index)
        self._policy = payload.load()
        self._version = 0
        self._time_step = self._env.reset()
        self._state = self._policy.get_initial_state(self._env.batch_size or 1)
        self._whole_episodes = whole_episodes
        # The running episode's steps, and the (step, version)s to send.
        self._episode: list[tuple[trajectory_lib.Trajectory, int]] = []
        self._ready: list[tuple[trajectory_lib.Trajectory, int]] = []
        self._ended: list[tuple[float, int]] = []  # (return, length) to send
        self._return, self._length = 0.0, 0
        self._where = ray_cluster.where(ray)

    def where(self) -> str:
        return self._where

    def set_weights(
        self, values: Sequence[np.ndarray], train_step: int | None, version: int
    ) -> None:
        policy_payload.assign_variables(self._policy, values, train_step)
        self._version = version

    def load(self, payload: policy_payload.PolicyPayload, version: int) -> None:
        self._policy = payload.load()
        self._state = self._policy.get_initial_state(self._env.batch_size or 1)
        self._version = version

    def _observe(self, traj: trajectory_lib.Trajectory) -> None:
        held = self._episode if self._whole_episodes else self._ready
        held.append((traj, self._version))
        if not traj.is_boundary():
            self._return += float(np.sum(traj.reward))
            self._length += 1
            return
        self._ended.append((self._return, self._length))
        self._return, self._length = 0.0, 0
        if self._whole_episodes:
            self._ready += self._episode
            self._episode = []

    def collect(self, num_steps: int) -> tuple[CollectedEpisodes | None, int]:
        """Steps `num_steps` times; returns (what is ready to send, env steps run)."""
        from policylib.base import nest_utils
        from policylib.drivers import py_driver

        driver = py_driver.PyDriver(
            self._env, self._policy, observers=[self._observe], max_steps=num_steps
        )
        self._time_step, self._state = driver.run(self._time_step, self._state)
        ready, ended = self._ready, self._ended
        self._ready, self._ended = [], []
        if not ready:
            return None, num_steps
        return (
            CollectedEpisodes(
                actor=self._index,
                trajectory=nest_utils.stack_nested_arrays([t for t, _ in ready]),
                policy_versions=np.asarray([v for _, v in ready], np.int64),
                episode_returns=tuple(r for r, _ in ended),
                episode_lengths=tuple(n for _, n in ended),
            ),
            num_steps,
        )


class RayCollector:
    """Ray actors that each run a policy in their own environment for the learner.

    Args:
      env: a Gymnasium id or a zero-argument constructor of a `PyEnvironment`
        (sent to every actor; each builds its own).
      policy: what the actors act with: a TF policy (e.g.
        `agent.collect_policy`, exported here with `PolicySaver`) or the
        path of a `PolicySaver` export.
      num_actors: Ray actors, one CPU each by default.
      ray_address: the cluster's `HOST:PORT` (`ray start --head`); None uses
        this process's Ray connection, else the cluster in `RAY_ADDRESS`, else
        starts a local Ray on 127.0.0.1 (stopped by `close`).
      seed: actor i seeds its environment (and TensorFlow) with `seed + i`,
        and a TF policy is exported for it with `PolicySaver(seed=seed + i)`,
        so actors explore with different random streams (None: random
        seeds). A SavedModel path is loaded as it is by every actor: its
        random ops give them all the same stream.
      num_cpus_per_actor: the CPUs each actor asks Ray for.
      allow_unsafe_ops: passed to the actors' SavedModel loader.
      train_step: the learner's train-step variable, exported with a TF
        policy and sent with each `update`, so schedules inside the policy
        (a decaying epsilon) follow the learner.
      whole_episodes: True: actors send episodes once they end (for a buffer
        of batch size 1). False: actors send every step each round, for a
        buffer with one row per actor; new data reaches the learner sooner.
    """

    def __init__(
        self,
        env: EnvLike,
        policy: LivePolicy | str,
        num_actors: int = 2,
        *,
        ray_address: str | None = None,
        seed: int | None = None,
        num_cpus_per_actor: float = 1.0,
        allow_unsafe_ops: bool = False,
        train_step: tf.Variable | None = None,
        whole_episodes: bool = True,
    ):
        arg_checks.check_int(num_actors, "num_actors", owner="RayCollector")
        self._num_actors = num_actors  # kept after close, for add_to
        self._whole_episodes = bool(whole_episodes)
        # Per actor, steps `add_to` holds until every row of the buffer has one.
        self._queued: list[trajectory_lib.Trajectory | None] = [None] * num_actors
        self._connection: contextlib.AbstractContextManager[types.ModuleType] | None
        self._connection = ray_cluster.connect(ray_address)
        self._ray = self._connection.__enter__()
        self._allow_unsafe_ops = allow_unsafe_ops
        self._train_step = train_step
        self._version = 0
        self._env_steps = 0
        try:
            ray_cluster.check_cpus(
                self._ray, num_actors, "RayCollector", num_cpus_per_actor
            )
            actor_class = self._ray.remote(num_cpus=num_cpus_per_actor)(_CollectActor)
            env_bytes = cloudpickle.dumps(env)
            payloads = self._pack_per_actor(policy, seed)
            self._actors = [
                actor_class.remote(i, env_bytes, payload, seed, whole_episodes)
                for i, payload in enumerate(payloads)
            ]
            self._where = self._ray.get([a.where.remote() for a in self._actors])
        except BaseException:
            self.close()
            raise

    @property
    def num_actors(self) -> int:
        return self._num_actors

    @property
    def version(self) -> int:
        """The policy version the actors act with (0: the one given at start)."""
        return self._version

    @property
    def env_steps(self) -> int:
        """Environment steps run by all actors so far (running episodes included)."""
        return self._env_steps

    def describe(self) -> list[str]:
        """Where each actor runs: `pid 123 on 10.0.0.2`."""
        return list(self._where)

    def _pack(
        self, policy: LivePolicy | str, seed: int | None = None
    ) -> policy_payload.PolicyPayload:
        with tempfile.TemporaryDirectory(prefix="policylib-collect-") as staging:
            return policy_payload.pack(
                policy,
                portable=True,
                staging_dir=staging,
                allow_unsafe_ops=self._allow_unsafe_ops,
                train_step=self._train_step,
                seed=seed,
            )

    def _pack_per_actor(
        self, policy: LivePolicy | str, seed: int | None
    ) -> list[object]:
        """Object refs of each actor's payload: a TF policy is exported per actor.

        Random ops are seeded when a policy is exported, so one export would
        give every actor the same exploration noise (each about 0.7 s for a
        DQN collect policy on one core).
        """
        if policy_payload.is_tf_policy(policy):
            seeds = (
                [seed + i for i in range(self._num_actors)]
                if seed is not None
                else [secrets.randbits(31) for _ in range(self._num_actors)]
            )
            return [self._ray.put(self._pack(policy, s)) for s in seeds]
        return [self._ray.put(self._pack(policy))] * self._num_actors

    def update(
        self,
        policy: LivePolicy | str | None = None,
        *,
        variables: Sequence[np.ndarray] | None = None,
    ) -> int:
        """Sends the actors a new policy; returns its version.

        Args:
          policy: a TF policy whose variables the actors' policy takes (the
            same network as the first one), or the path of a new
            `PolicySaver` export that the actors load instead.
          variables: instead of `policy`, the values themselves (a sequence
            of arrays, in `policy.variables()` order).

        Raises:
          ValueError: the variables do not fit the actors' policy (naming
            the first that does not); the actors keep the previous ones.
        """
        if (policy is None) == (variables is None):
            raise ValueError(
                "RayCollector.update takes a policy or variables, one of them."
            )
        version = self._version + 1
        if isinstance(policy, str):
            payload = self._ray.put(self._pack(policy))
            self._ray.get([a.load.remote(payload, version) for a in self._actors])
        else:
            if policy is not None:
                values = policy_payload.variable_values(policy)
            else:
                assert variables is not None  # one of the two, checked above
                values = tuple(np.asarray(v) for v in variables)
            step = None if self._train_step is None else int(self._train_step.numpy())
            values_ref = self._ray.put(values)
            self._ray.get(
                [a.set_weights.remote(values_ref, step, version) for a in self._actors]
            )
        self._version = version
        return version

    def collect(self, steps_per_actor: int) -> list[CollectedEpisodes]:
        """Every actor steps `steps_per_actor` times; returns the episodes that ended.

        Episodes come in actor order; an actor whose episode is still running
        returns nothing for it yet.
        """
        arg_checks.check_int(
            steps_per_actor, "steps_per_actor", owner="RayCollector.collect"
        )
        results = self._ray.get(
            [a.collect.remote(steps_per_actor) for a in self._actors]
        )
        self._env_steps += sum(steps for _, steps in results)
        return [batch for batch, _ in results if batch is not None]

    @property
    def queued_steps(self) -> list[int]:
        """Per actor, steps `add_to` holds until every buffer row has one."""
        return [_length(q) for q in self._queued]

    def add_to(
        self,
        replay_buffer: replay_buffer_lib.ReplayBuffer,
        batches: Sequence[CollectedEpisodes],
        min_version: int | None = None,
    ) -> int:
        """Adds what `collect` returned to a replay buffer; returns the items added.

        Args:
          replay_buffer: a buffer of batch size 1 (`PyUniformReplayBuffer`,
            `TFUniformReplayBuffer(batch_size=1)`): whole episodes go in one
            after another. Or a `TFUniformReplayBuffer` with one row per
            actor: actor i's steps go to row i, a step of every row at a time
            (steps of a row that is ahead wait in `queued_steps`).
          batches: what `collect` returned.
          min_version: drop episodes any step of which was collected with a
            policy older than this version (whole episodes only).

        Raises:
          ValueError: the buffer's batch size is neither 1 nor the number of
            actors, several actors' partial episodes would share one row, or
            `min_version` is asked of partial episodes.
        """
        rows = _rows(replay_buffer)
        if min_version is not None:
            if not self._whole_episodes:
                raise ValueError(
                    "add_to(min_version=...) drops whole episodes; this "
                    "RayCollector sends partial ones (whole_episodes=False)."
                )
            batches = [b for b in batches if b.policy_version >= min_version]
        if rows == 1:
            if not self._whole_episodes and self.num_actors > 1:
                raise ValueError(
                    f"add_to: {self.num_actors} actors' partial episodes cannot "
                    "share a buffer of batch size 1; use "
                    f"TFUniformReplayBuffer(batch_size={self.num_actors}) (a row "
                    "per actor) or RayCollector(whole_episodes=True)."
                )
            for batch in batches:
                for t in range(batch.num_steps):
                    replay_buffer.add_batch(_items(batch.trajectory, t, t + 1))
            return sum(b.num_steps for b in batches)
        if rows != self.num_actors:
            raise ValueError(
                f"add_to: the replay buffer has batch_size {rows}; a RayCollector "
                f"of {self.num_actors} actors adds to batch size 1 or "
                f"{self.num_actors} (a row per actor)."
            )
        for batch in batches:
            queued = self._queued[batch.actor]
            self._queued[batch.actor] = (
                batch.trajectory
                if queued is None
                else tree.map_structure(
                    lambda *x: np.concatenate(x), queued, batch.trajectory
                )
            )
        count = min(self.queued_steps)
        if count == 0:
            return 0
        rows_queued = [q for q in self._queued if q is not None]  # all: count > 0
        taken = [_items(q, 0, count) for q in rows_queued]
        self._queued = [_items(q, count, None) for q in rows_queued]
        stacked = tree.map_structure(lambda *x: np.stack(x, axis=1), *taken)
        for t in range(count):  # stacked is [count, rows]: one add per time step
            replay_buffer.add_batch(tree.map_structure(lambda x, t=t: x[t], stacked))
        return count * rows

    def close(self) -> None:
        """Stops the actors and disconnects from Ray (if this collector connected)."""
        for actor in getattr(self, "_actors", []):
            self._ray.kill(actor)
        self._actors = []
        if self._connection is not None:
            self._connection.__exit__(None, None, None)
            self._connection = None

    def __enter__(self) -> RayCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rows(replay_buffer: replay_buffer_lib.ReplayBuffer) -> int:
    """The buffer's batch size (rows); 1 for a buffer without one (`PyUniformReplayBuffer`)."""
    rows: int | None = getattr(replay_buffer, "batch_size", None)
    return int(rows or 1)


def _items(
    trajectory: trajectory_lib.Trajectory, start: int, stop: int | None
) -> trajectory_lib.Trajectory:
    """Items [start:stop] of a [T] nest."""
    return tree.map_structure(lambda x: x[start:stop], trajectory)


def _length(trajectory: trajectory_lib.Trajectory | None) -> int:
    """The outer dim of a [T] nest (0 for None)."""
    return 0 if trajectory is None else len(tree.flatten(trajectory)[0])
