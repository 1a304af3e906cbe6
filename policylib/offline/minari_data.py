"""Minari data sets as TF-Agents trajectories, for offline training (CQL-SAC, BC).

Minari, the maintained successor of D4RL, stores each episode as observations
`[T + 1]` (the last one is where the episode ended), actions, rewards,
terminations and truncations `[T]`. `MinariTrajectories` turns them into the
frames a TF-Agents driver would have written for that episode:

    t        step_type  observation  action  next_step_type  reward  discount
    0        FIRST      o_0          a_0     MID             r_0     1
    ...
    T - 1    MID        o_{T-1}      a_{T-1} LAST            r_{T-1} 0 if terminated else 1
    T        LAST       o_T          0       FIRST           0       1

`as_dataset` serves windows of consecutive frames that never cross the end of
an episode (what an agent's `train` takes), `to_replay_buffer` a filled
`TFUniformReplayBuffer` holding the frames of every episode in order.
`record_dataset` writes a new local data set from a policy acting in a
Gymnasium environment (with optional exploration noise), in Minari's format.

    data = minari_data.MinariTrajectories("pendulum/noisy-expert-v0")
    agent = cql_sac_agent.CqlSacAgent(data.time_step_spec, data.action_spec, ...)
    for experience in data.as_dataset(batch_size=256, seed=0).take(10_000):
        agent.train(experience)

Minari is an optional extra (`pip install 'policylib[offline]'`). Data sets are
read from Minari's local directory (`MINARI_DATASETS_PATH`, else
`~/.minari/datasets`); nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from policylib.base import extras
from policylib.environments import gym_wrapper
from policylib.policies import py_policy
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types

if TYPE_CHECKING:
    import minari

__all__ = ["DataSummary", "MinariTrajectories", "episode_trajectory", "record_dataset"]


def _minari() -> Any:
    return extras.require("minari", extra="offline", feature="Offline data sets")


@dataclasses.dataclass(frozen=True)
class DataSummary:
    """What a data set holds: its size and the return of its episodes."""

    dataset_id: str
    episodes: int
    steps: int
    average_return: float
    min_return: float
    max_return: float


def _leaves_of(value: Any) -> list[np.ndarray]:
    return [np.asarray(v) for v in tf.nest.flatten(value)]


def episode_trajectory(
    episode: Any,
    observation_spec: types.NestedArraySpec,
    action_spec: types.NestedArraySpec,
) -> trajectory.Trajectory:
    """The `T + 1` frames (a `Trajectory` of arrays) of one Minari episode.

    Args:
      episode: a `minari.EpisodeData` (anything with its fields).
      observation_spec: the data set's observation spec (array or tensor
        specs); observations are cast to its dtypes.
      action_spec: the data set's action spec; actions are cast to its dtypes.

    Raises:
      ValueError: the episode's fields do not fit each other or the specs
        (the message names the episode and the field, expected vs got).
    """
    name = f"episode {getattr(episode, 'id', '?')}"
    observation_spec = tensor_spec.to_array_spec(observation_spec)
    action_spec = tensor_spec.to_array_spec(action_spec)
    rewards = np.asarray(episode.rewards, dtype=np.float32)
    steps = rewards.shape[0] if rewards.ndim else 0
    if rewards.ndim != 1 or steps == 0:
        raise ValueError(
            f"{name}: rewards have shape {rewards.shape}; expected (T,), T >= 1."
        )
    terminations = np.asarray(episode.terminations, dtype=bool)
    truncations = np.asarray(episode.truncations, dtype=bool)
    for field, values in (("terminations", terminations), ("truncations", truncations)):
        if values.shape != (steps,):
            raise ValueError(
                f"{name}: {field} have shape {values.shape}; expected ({steps},)."
            )

    def cast(
        spec: array_spec.ArraySpec, value: Any, field: str, length: int
    ) -> np.ndarray:
        array = np.asarray(value)
        expected = (length, *spec.shape)
        if array.shape != expected:
            raise ValueError(
                f"{name}: {field} '{spec.name}' has shape {array.shape}; expected "
                f"{expected} ({length} steps of {spec.shape})."
            )
        return array.astype(spec.dtype, copy=False)

    try:
        observations = tf.nest.map_structure(
            lambda s, v: cast(s, v, "observation", steps + 1),
            observation_spec,
            episode.observations,
        )
        actions = tf.nest.map_structure(
            lambda s, v: cast(s, v, "action", steps), action_spec, episode.actions
        )
    except (TypeError, ValueError) as e:
        if str(e).startswith(name):
            raise
        raise ValueError(
            f"{name}: observations/actions do not have the data set's structure: {e}"
        ) from None
    actions = tf.nest.map_structure(
        lambda a: np.concatenate([a, np.zeros_like(a[:1])]), actions
    )
    step_type = np.full(steps + 1, ts.StepType.MID, dtype=np.int32)
    step_type[0] = ts.StepType.FIRST
    step_type[steps] = ts.StepType.LAST
    next_step_type = np.full(steps + 1, ts.StepType.MID, dtype=np.int32)
    next_step_type[steps - 1] = ts.StepType.LAST
    next_step_type[steps] = ts.StepType.FIRST
    discount = np.ones(steps + 1, dtype=np.float32)
    # Only a termination ends the return; a truncated (or cut-off) last step
    # keeps bootstrapping from o_T.
    discount[:steps][terminations] = 0.0
    return trajectory.Trajectory(
        step_type=step_type,
        observation=observations,
        action=actions,
        policy_info=(),
        next_step_type=next_step_type,
        reward=np.concatenate([rewards, np.zeros(1, np.float32)]),
        discount=discount,
    )


class MinariTrajectories:
    """A Minari data set with TF-Agents specs, as trajectories.

    `observation_spec`, `action_spec` and `time_step_spec` are tensor specs,
    what an agent's constructor and its networks take.

    Args:
      dataset: a `minari.MinariDataset`, or the id of a local one.

    Raises:
      ValueError: no local data set has that id (the message lists those
        there are), or its spaces have no spec equivalent.
      MissingExtraError: Minari is not installed.
    """

    def __init__(self, dataset: minari.MinariDataset | str):
        minari_module = _minari()
        if isinstance(dataset, str):
            local = sorted(minari_module.list_local_datasets())
            if dataset not in local:
                raise ValueError(
                    f"No local Minari data set {dataset!r}; local ones: {local or 'none'} "
                    "(MINARI_DATASETS_PATH, else ~/.minari/datasets). Create one with "
                    "minari.DataCollector; nothing is downloaded."
                )
            dataset = minari_module.load_dataset(dataset)
        self._dataset = dataset
        # Array specs cast the episodes' arrays; the public specs are tensor
        # specs, what an agent's constructor and networks take.
        self._observation_array_spec = gym_wrapper.spec_from_gym_space(
            dataset.observation_space, name="observation"
        )
        self._action_array_spec = gym_wrapper.spec_from_gym_space(
            dataset.action_space, name="action"
        )
        self.observation_spec = tensor_spec.from_spec(self._observation_array_spec)
        self.action_spec = tensor_spec.from_spec(self._action_array_spec)
        self.time_step_spec = ts.time_step_spec(self.observation_spec)
        self._frames: trajectory.Trajectory | None = None
        self._window_starts: dict[int, np.ndarray] = {}
        self._episode_bounds: list[tuple[int, int]] = []

    @property
    def dataset(self) -> minari.MinariDataset:
        """The Minari data set."""
        return self._dataset

    @property
    def trajectory_spec(self) -> trajectory.Trajectory:
        """The tensor spec of one frame (an agent's `collect_data_spec`)."""
        return tensor_spec.from_spec(
            trajectory.Trajectory(
                step_type=array_spec.ArraySpec((), np.int32, name="step_type"),
                observation=self._observation_array_spec,
                action=self._action_array_spec,
                policy_info=(),
                next_step_type=array_spec.ArraySpec((), np.int32, name="step_type"),
                reward=array_spec.ArraySpec((), np.float32, name="reward"),
                discount=array_spec.BoundedArraySpec(
                    (), np.float32, minimum=0.0, maximum=1.0, name="discount"
                ),
            )
        )

    def episodes(self) -> Iterator[trajectory.Trajectory]:
        """Each episode's `T + 1` frames, as arrays, in the data set's order."""
        for episode in self._dataset.iterate_episodes():
            yield episode_trajectory(
                episode, self._observation_array_spec, self._action_array_spec
            )

    def _all_frames(self) -> trajectory.Trajectory:
        """Every episode's frames, concatenated (built once)."""
        if self._frames is None:
            pieces = list(self.episodes())
            if not pieces:
                raise ValueError(
                    f"The Minari data set {self._dataset.id!r} has no episodes."
                )
            start = 0
            for piece in pieces:
                length = piece.step_type.shape[0]
                self._episode_bounds.append((start, start + length))
                start += length
            self._frames = tf.nest.map_structure(
                lambda *parts: np.concatenate(parts), *pieces
            )
        return self._frames

    def summary(self) -> DataSummary:
        """The data set's episodes, steps and undiscounted returns."""
        frames = self._all_frames()
        returns = np.array(
            [frames.reward[a:b].sum() for a, b in self._episode_bounds],
            dtype=np.float64,
        )
        return DataSummary(
            dataset_id=str(self._dataset.id),
            episodes=len(returns),
            steps=int(sum(b - a - 1 for a, b in self._episode_bounds)),
            average_return=float(returns.mean()),
            min_return=float(returns.min()),
            max_return=float(returns.max()),
        )

    def _starts(self, num_steps: int) -> np.ndarray:
        """First frames of the windows of `num_steps` frames inside one episode.

        A one-frame window never is an episode's final frame: its action is a
        placeholder (0), nothing any agent should learn from.
        """
        if num_steps not in self._window_starts:
            self._all_frames()
            last = 1 if num_steps == 1 else num_steps - 1
            self._window_starts[num_steps] = np.concatenate(
                [
                    np.arange(a, b - last, dtype=np.int64)
                    for a, b in self._episode_bounds
                ]
            )
        return self._window_starts[num_steps]

    def as_dataset(
        self,
        batch_size: int,
        num_steps: int | None = 2,
        shuffle: bool = True,
        seed: int | None = None,
        repeat: bool = True,
    ) -> tf.data.Dataset:
        """`[batch_size, num_steps]` windows of frames, none crossing an episode's end.

        With `num_steps=None`, `[batch_size]` single frames without a time dim
        (as a replay buffer's `as_dataset` gives them).

        Args:
          batch_size: windows per batch.
          num_steps: frames per window (2: one transition, what SAC, CQL-SAC
            and DQN train on). One frame, or None for frames without a time
            dim (behavioural cloning), leaves out each episode's final frame,
            whose action is a placeholder.
          shuffle: draw windows in a random order (seeded by `seed`), anew
            on each pass.
          seed: the shuffle's seed.
          repeat: pass over the data for ever (else once; the last batch may
            be smaller).

        Raises:
          ValueError: `batch_size` or `num_steps` is below 1, or no episode
            has `num_steps` frames.
        """
        window = num_steps is not None
        num_steps = 1 if num_steps is None else num_steps
        if batch_size < 1 or num_steps < 1:
            raise ValueError(
                f"batch_size and num_steps must be >= 1; got {batch_size}, {num_steps}."
            )
        starts = self._starts(num_steps)
        if starts.size == 0:
            raise ValueError(
                f"No episode of {self._dataset.id!r} has {num_steps} frames "
                f"(the longest has {max(b - a for a, b in self._episode_bounds)})."
            )
        frames = tf.nest.map_structure(tf.constant, self._all_frames())
        offsets = tf.range(num_steps, dtype=tf.int64) if window else None
        windows = tf.data.Dataset.from_tensor_slices(starts)
        if shuffle:
            windows = windows.shuffle(
                starts.size, seed=seed, reshuffle_each_iteration=True
            )
        if repeat:
            windows = windows.repeat()
        windows = windows.batch(batch_size, drop_remainder=repeat)

        def gather(first: tf.Tensor) -> trajectory.Trajectory:
            index = first if offsets is None else first[:, None] + offsets[None, :]
            return tf.nest.map_structure(lambda f: tf.gather(f, index), frames)

        return windows.map(gather).prefetch(tf.data.AUTOTUNE)

    def to_replay_buffer(
        self, max_length: int | None = None
    ) -> tf_uniform_replay_buffer.TFUniformReplayBuffer:
        """A `TFUniformReplayBuffer` (batch size 1) holding every frame in order.

        As a driver writes them, episodes follow each other, so a window
        sampled from it may cross from one episode's LAST frame into the next
        one's FIRST frame (`Trajectory.is_boundary`); `as_dataset` has none.

        Args:
          max_length: the buffer's capacity (default: the data's frame count;
            a smaller one keeps the latest frames).
        """
        frames = self._all_frames()
        count = int(frames.step_type.shape[0])
        buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
            self.trajectory_spec, batch_size=1, max_length=max_length or count
        )
        constants = tf.nest.map_structure(tf.constant, frames)

        def frame(i: tf.Tensor) -> Any:
            return tf.nest.map_structure(lambda f: tf.expand_dims(f[i], 0), constants)

        @tf.function(autograph=True)
        def fill() -> None:
            for i in tf.range(count):
                buffer.add_batch(frame(i))

        fill()
        return buffer


def _time_step(
    spec: ts.TimeStep, observation: Any, step_type: Any, reward: Any, discount: float
) -> ts.TimeStep:
    """An unbatched `TimeStep` of arrays in `spec`'s dtypes."""
    return ts.TimeStep(
        step_type=np.asarray(step_type, dtype=spec.step_type.dtype),
        reward=np.asarray(reward, dtype=spec.reward.dtype),
        discount=np.asarray(discount, dtype=spec.discount.dtype),
        observation=tf.nest.map_structure(
            lambda s, o: np.asarray(o, dtype=s.dtype), spec.observation, observation
        ),
    )


def record_dataset(
    dataset_id: str,
    env_id: str,
    policy: py_policy.PyPolicy,
    num_steps: int,
    *,
    seed: int = 0,
    action_noise: float = 0.0,
    random_action_prob: float = 0.0,
    **metadata: Any,
) -> MinariTrajectories:
    """Runs `policy` in a Gymnasium environment and writes its episodes as a Minari data set.

    The way D4RL's "medium" and "expert" sets were made, for a local set
    when nothing can be downloaded: a trained policy, perturbed by
    exploration noise, plays `num_steps` steps; every episode (the last one
    cut off at `num_steps`, recorded as truncated) goes to Minari's writer.
    The recorded action is the one the environment received, noise included.

    Args:
      dataset_id: the new data set's id (`"pendulum/noisy-expert-v0"`); Minari
        keeps it under `MINARI_DATASETS_PATH`, else `~/.minari/datasets`.
      env_id: the Gymnasium id to run (`gymnasium.make(env_id)`); also the
        data set's environment.
      policy: a py policy acting on unbatched time steps, e.g. a
        `PyTFEagerPolicy` or `SavedPyTFEagerPolicy`.
      num_steps: environment steps to record.
      seed: seeds the first reset, the noise and the random actions.
      action_noise: standard deviation of Gaussian noise added to a
        continuous (`Box`) action, in the action's units, then clipped to its
        bounds.
      random_action_prob: the probability of a uniformly random action
        instead of the policy's at each step.
      **metadata: passed to `minari.create_dataset_from_buffers` (`author`,
        `author_email`, `code_permalink`, `description`, ...);
        `algorithm_name` defaults to `"policylib.offline.record_dataset"`.

    Returns:
      The new data set, as `MinariTrajectories`.

    Raises:
      ValueError: `dataset_id` exists already (nothing is overwritten), a
        count or probability is out of range, or `action_noise` is set for a
        non-`Box` action space.
      TypeError: `policy` is not a `PyPolicy`.
      MissingExtraError: Minari is not installed.
    """
    minari_module = _minari()
    import gymnasium
    from minari.data_collector import EpisodeBuffer

    if not isinstance(policy, py_policy.PyPolicy):
        raise TypeError(
            "record_dataset needs a py policy (e.g. py_tf_eager_policy."
            f"PyTFEagerPolicy(tf_policy)); got {type(policy).__name__}."
        )
    if int(num_steps) != num_steps or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer; got {num_steps!r}.")
    if action_noise < 0 or not 0 <= random_action_prob <= 1:
        raise ValueError(
            "action_noise must be >= 0 and random_action_prob in [0, 1]; got "
            f"{action_noise!r} and {random_action_prob!r}."
        )
    if dataset_id in minari_module.list_local_datasets():
        raise ValueError(
            f"A local Minari data set {dataset_id!r} exists already; choose another "
            "id or remove it first (minari.delete_dataset)."
        )
    env = gymnasium.make(env_id)
    space: Any = env.action_space
    if action_noise and not isinstance(space, gymnasium.spaces.Box):
        raise ValueError(
            f"action_noise needs a continuous (Box) action space; {env_id} has {space}."
        )
    space.seed(seed)
    rng = np.random.default_rng(seed)
    spec = policy.time_step_spec
    fields = ("observations", "actions", "rewards", "terminations", "truncations")
    episodes: list[Any] = []
    try:
        observation, _ = env.reset(seed=seed)
        time_step = _time_step(spec, observation, ts.StepType.FIRST, 0.0, 1.0)
        state = policy.get_initial_state()
        episode: dict[str, list[Any]] = {f: [] for f in fields}
        episode["observations"].append(observation)
        for step in range(int(num_steps)):
            policy_step = policy.action(time_step, state)
            state = policy_step.state
            if random_action_prob and rng.random() < random_action_prob:
                action = space.sample()
            else:
                action = np.asarray(policy_step.action).astype(space.dtype)
                if action_noise:
                    noise = rng.normal(0.0, action_noise, size=action.shape)
                    action = np.clip(action + noise, space.low, space.high).astype(
                        space.dtype
                    )
            observation, reward, terminated, truncated, _ = env.step(action)
            truncated = truncated or step == num_steps - 1
            for field, value in zip(
                fields, (observation, action, reward, terminated, truncated)
            ):
                episode[field].append(value)
            if terminated or truncated:
                episodes.append(EpisodeBuffer(id=len(episodes), **episode))
                observation, _ = env.reset()
                time_step = _time_step(spec, observation, ts.StepType.FIRST, 0.0, 1.0)
                state = policy.get_initial_state()
                episode = {f: [] for f in fields}
                episode["observations"].append(observation)
            else:
                time_step = _time_step(spec, observation, ts.StepType.MID, reward, 1.0)
    finally:
        env.close()
    metadata.setdefault("algorithm_name", "policylib.offline.record_dataset")
    dataset = minari_module.create_dataset_from_buffers(
        dataset_id, episodes, env=env_id, eval_env=env_id, **metadata
    )
    return MinariTrajectories(dataset)
