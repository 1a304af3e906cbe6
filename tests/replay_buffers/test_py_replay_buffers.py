"""PyUniformReplayBuffer, PyHashedReplayBuffer, and the Reverb modules' error."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.replay_buffers import py_hashed_replay_buffer, py_uniform_replay_buffer
from policylib.specs import array_spec
from policylib.trajectories import trajectory

SPEC = array_spec.ArraySpec([3], np.float32, "x")


def test_uniform_buffer_samples_runs_in_order() -> None:
    buffer = py_uniform_replay_buffer.PyUniformReplayBuffer(SPEC, capacity=5)
    for i in range(8):
        buffer.add_batch(np.full((1, 3), i, np.float32))
    assert buffer.size == 5 and buffer.num_frames() == 5
    np.random.seed(0)
    runs = buffer.get_next(sample_batch_size=20, num_steps=2)
    assert runs.shape == (20, 2, 3)
    np.testing.assert_array_equal(runs[:, 1, 0] - runs[:, 0, 0], 1)
    assert runs.min() >= 3
    batch = next(iter(buffer.as_dataset(sample_batch_size=4, num_steps=3)))
    assert batch.shape == (4, 3, 3)
    with pytest.raises(ValueError, match="batch of size 1"):
        buffer.add_batch(np.zeros((2, 3), np.float32))


def test_uniform_buffer_checkpoint(tmp_path) -> None:
    buffer = py_uniform_replay_buffer.PyUniformReplayBuffer(SPEC, capacity=4)
    for i in range(3):
        buffer.add_batch(np.full((1, 3), i, np.float32))
    path = tf.train.Checkpoint(rb=buffer).save(str(tmp_path / "ckpt"))
    restored = py_uniform_replay_buffer.PyUniformReplayBuffer(SPEC, capacity=4)
    tf.train.Checkpoint(rb=restored).restore(path)
    assert restored.size == 3
    np.testing.assert_array_equal(restored.gather_all(), buffer.gather_all())


def _frames_spec() -> trajectory.Trajectory:
    return trajectory.Trajectory(
        step_type=array_spec.ArraySpec([], np.int32),
        observation=array_spec.ArraySpec([2, 2, 4], np.uint8),
        action=array_spec.ArraySpec([], np.int32),
        policy_info=(),
        next_step_type=array_spec.ArraySpec([], np.int32),
        reward=array_spec.ArraySpec([], np.float32),
        discount=array_spec.ArraySpec([], np.float32),
    )


def test_hashed_buffer_stores_each_frame_once_and_survives_a_checkpoint(
    tmp_path,
) -> None:
    spec = _frames_spec()
    buffer = py_hashed_replay_buffer.PyHashedReplayBuffer(spec, capacity=10)
    frames = [np.full((2, 2, 1), i, np.uint8) for i in range(6)]
    for t in range(3):  # frame stacks [t, t+1, t+2, t+3]: 6 distinct frames
        observation = np.concatenate(frames[t : t + 4], axis=-1)[None]
        traj = trajectory.Trajectory(
            np.zeros(1, np.int32),
            observation,
            np.zeros(1, np.int32),
            (),
            np.ones(1, np.int32),
            np.zeros(1, np.float32),
            np.ones(1, np.float32),
        )
        buffer.add_batch(traj)
    assert len(buffer._frame_buffer) == 6
    path = tf.train.Checkpoint(rb=buffer).save(str(tmp_path / "ckpt"))
    restored = py_hashed_replay_buffer.PyHashedReplayBuffer(spec, capacity=10)
    tf.train.Checkpoint(rb=restored).restore(path)
    np.testing.assert_array_equal(
        restored.gather_all().observation[0, :3], buffer.gather_all().observation[0, :3]
    )
    with pytest.raises(ValueError, match="spec of a trajectory"):
        py_hashed_replay_buffer.PyHashedReplayBuffer(SPEC, capacity=2)
