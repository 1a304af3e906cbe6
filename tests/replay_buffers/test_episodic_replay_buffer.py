"""EpisodicReplayBuffer: episodes by id, overwritten oldest-first, read as runs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.replay_buffers import episodic_replay_buffer, episodic_table
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

SPEC = trajectory.Trajectory(
    step_type=tf.TensorSpec([], tf.int32),
    observation=tf.TensorSpec([2], tf.float32),
    action=tf.TensorSpec([], tf.int32),
    policy_info=(),
    next_step_type=tf.TensorSpec([], tf.int32),
    reward=tf.TensorSpec([], tf.float32),
    discount=tf.TensorSpec([], tf.float32),
)


def _frames(step_types, values, next_step_types=None):
    """A batch of frames, one per environment."""
    n = len(step_types)
    next_step_types = next_step_types or [ts.StepType.MID] * n
    return trajectory.Trajectory(
        step_type=tf.constant(step_types, tf.int32),
        observation=tf.constant([[v, v] for v in values], tf.float32),
        action=tf.constant(values, tf.int32),
        policy_info=(),
        next_step_type=tf.constant(next_step_types, tf.int32),
        reward=tf.ones([n]),
        discount=tf.ones([n]),
    )


def test_two_writers_keep_their_episodes_apart() -> None:
    buffer = episodic_replay_buffer.EpisodicReplayBuffer(SPEC, capacity=3)
    ids = buffer.create_episode_ids(num_episodes=2)
    first, mid, last = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST
    ids = buffer.add_batch(_frames([first, first], [0, 10], [mid, last]), ids)
    ids = buffer.add_batch(_frames([mid, last], [1, 11], [last, first]), ids)
    ids = buffer.add_batch(_frames([last, first], [2, 20], [first, mid]), ids)
    assert ids.numpy().tolist() == [0, 2]
    np.testing.assert_array_equal(buffer._get_episode(0).action.numpy(), [0, 1, 2])
    np.testing.assert_array_equal(buffer._get_episode(1).action.numpy(), [10, 11])
    assert int(buffer.num_frames()) == 6
    assert sorted(buffer._completed_episodes().numpy().tolist()) == [0, 1]
    # A fourth episode overwrites the oldest (id 0, row 0): its writer's frames are dropped.
    buffer.add_batch(_frames([first], [30]), buffer.create_episode_ids(1))
    assert buffer.get_valid_ids_mask(
        tf.constant([0, 1, 2, 3], tf.int64)
    ).numpy().tolist() == [False, True, True, True]


def test_runs_come_from_single_episodes() -> None:
    buffer = episodic_replay_buffer.EpisodicReplayBuffer(SPEC, capacity=4, seed=1)
    ids = buffer.create_episode_ids(num_episodes=2)
    for t in range(5):
        step = ts.StepType.FIRST if t == 0 else ts.StepType.MID
        ids = buffer.add_batch(_frames([step, step], [t, 100 + t]), ids)
    runs, episode_ids = next(iter(buffer.as_dataset(sample_batch_size=16, num_steps=3)))
    actions = runs.action.numpy()
    assert actions.shape == (16, 3)
    np.testing.assert_array_equal(
        np.diff(actions, axis=1), 1
    )  # consecutive, one episode
    # Episode 0 holds actions 0..4, episode 1 holds 100..104.
    np.testing.assert_array_equal(actions[:, 0] >= 100, episode_ids.numpy() == 1)
    with pytest.raises(ValueError, match="num_steps must be provided"):
        buffer.as_dataset(sample_batch_size=2)


def test_single_pass_reads_each_frame_once() -> None:
    buffer = episodic_replay_buffer.EpisodicReplayBuffer(SPEC, capacity=4)
    episode = buffer.create_episode_ids()
    for t in range(4):
        step = ts.StepType.FIRST if t == 0 else ts.StepType.MID
        frame = tf.nest.map_structure(lambda x: x[0], _frames([step], [t]))
        frames = tf.nest.map_structure(lambda x: x[None], frame)
        episode = buffer.add_sequence(frames, episode)
    runs = [
        r.action.numpy().tolist()
        for r in buffer.as_dataset(num_steps=2, single_deterministic_pass=True)
    ]
    assert runs == [[0, 1], [2, 3]]


def test_stateful_buffer_remembers_ids_and_empty_buffer_says_so() -> None:
    buffer = episodic_replay_buffer.EpisodicReplayBuffer(SPEC, capacity=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="is empty"):
        buffer.get_next()
    stateful = episodic_replay_buffer.StatefulEpisodicReplayBuffer(
        buffer, num_episodes=1
    )
    stateful.add_batch(_frames([ts.StepType.FIRST], [7]))
    stateful.add_batch(_frames([ts.StepType.MID], [8]))
    assert stateful.episode_ids.numpy().tolist() == [0]
    np.testing.assert_array_equal(buffer.gather_all().action.numpy(), [[7, 8]])
    with pytest.raises(ValueError, match="capacity"):
        episodic_replay_buffer.StatefulEpisodicReplayBuffer(buffer, num_episodes=3)


def test_episodic_table_checkpoint(tmp_path) -> None:
    spec = {"x": tf.TensorSpec([2], tf.float32, "x")}
    table = episodic_table.EpisodicTable(spec, capacity=2)
    table.append(1, {"x": tf.ones([3, 2])})
    path = tf.train.Checkpoint(table=table).save(str(tmp_path / "ckpt"))
    restored = episodic_table.EpisodicTable(spec, capacity=2)
    tf.train.Checkpoint(table=restored).restore(path).assert_consumed()
    np.testing.assert_array_equal(
        restored.get_episode_values(1)["x"].numpy(), np.ones([3, 2])
    )
    assert restored.get_episode_values(0)["x"].shape == (0, 2)
