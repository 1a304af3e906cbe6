"""trajectory_for_bandit: one-step episodes as trajectories without a time dim."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from policylib.bandits.drivers import driver_utils
from policylib.bandits.replay_buffers import bandit_replay_buffer
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts


def test_fields_come_from_the_right_step() -> None:
    observation = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    first = ts.TimeStep(
        step_type=tf.constant([ts.StepType.FIRST] * 2),
        reward=tf.zeros([2]),
        discount=tf.ones([2]),
        observation=observation,
    )
    final = ts.TimeStep(
        step_type=tf.constant([ts.StepType.LAST] * 2),
        reward=tf.constant([0.5, -1.0]),
        discount=tf.zeros([2]),
        observation=tf.zeros([2, 2]),
    )
    action = policy_step.PolicyStep(action=tf.constant([1, 0]), info={"x": 3})
    traj = driver_utils.trajectory_for_bandit(first, action, final)
    np.testing.assert_array_equal(traj.observation, observation)
    np.testing.assert_array_equal(traj.action, [1, 0])
    np.testing.assert_array_equal(traj.reward, [0.5, -1.0])
    np.testing.assert_array_equal(traj.discount, [0.0, 0.0])
    np.testing.assert_array_equal(traj.step_type, [ts.StepType.FIRST] * 2)
    np.testing.assert_array_equal(traj.next_step_type, [ts.StepType.LAST] * 2)
    assert traj.policy_info == {"x": 3}


def test_bandit_replay_buffer_is_the_uniform_buffer() -> None:
    assert (
        bandit_replay_buffer.BanditReplayBuffer
        is tf_uniform_replay_buffer.TFUniformReplayBuffer
    )
