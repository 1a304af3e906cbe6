"""Bandit TF metrics: each call replaces the value with the latest batch's mean
regret, suboptimal-arm rate, constraint violation or distance from greedy."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.metrics import tf_metrics
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

OBS = tf.constant([[0.0, 1.0], [2.0, 0.5], [1.0, 1.0], [3.0, -1.0]])


def _traj(action, reward, observation=OBS):
    batch = len(action)
    return trajectory.Trajectory(
        step_type=tf.fill([batch], ts.StepType.FIRST),
        observation=observation,
        action=tf.constant(action),
        policy_info=(),
        next_step_type=tf.fill([batch], ts.StepType.LAST),
        reward=reward,
        discount=tf.zeros([batch]),
    )


def _best_reward(observation):
    return tf.reduce_max(observation, axis=-1)


def test_regret_is_the_latest_batch_mean_and_reads_dict_rewards():
    metric = tf_metrics.RegretMetric(_best_reward)
    assert metric.name == "RegretMetric" and metric.result().numpy() == 0.0
    traj = _traj([0, 1, 0, 1], tf.constant([1.0, 0.5, 1.0, -1.0]))
    np.testing.assert_array_equal(metric(traj).reward.numpy(), traj.reward.numpy())
    np.testing.assert_allclose(metric.result().numpy(), np.mean([0.0, 1.5, 0.0, 4.0]))
    metric(
        _traj(
            [0, 1, 0, 1],
            {"reward": tf.constant([1.0, 2.0, 1.0, 3.0]), "constraint": tf.zeros(4)},
        )
    )
    np.testing.assert_allclose(metric.result().numpy(), 0.0)
    metric.reset()
    assert metric.result().numpy() == 0.0
    with pytest.raises(ValueError, match="needs a 'reward' entry; got keys"):
        metric(_traj([0, 1, 0, 1], {"other": tf.zeros(4)}))


def test_suboptimal_arms_counts_disagreements_across_dtypes():
    metric = tf_metrics.SuboptimalArmsMetric(
        lambda obs: tf.argmax(obs, axis=-1, output_type=tf.int32), dtype=tf.float64
    )
    metric(_traj(np.array([1, 1, 0, 0], np.int64), tf.zeros(4)))
    assert metric.result().dtype == tf.float64
    np.testing.assert_allclose(metric.result().numpy(), 0.25)


def test_constraint_violations_average_the_chosen_actions_infeasibility():
    def feasibility(observation):
        return tf.sigmoid(observation)

    metric = tf_metrics.ConstraintViolationsMetric(feasibility)
    metric(_traj([0, 1, 1, 0], tf.zeros(4)))
    chosen = OBS.numpy()[np.arange(4), [0, 1, 1, 0]]
    expected = np.mean(1.0 - 1.0 / (1.0 + np.exp(-chosen)))
    np.testing.assert_allclose(metric.result().numpy(), expected, rtol=1e-6)
    assert metric.name == "ConstraintViolationMetric"


def test_distance_from_greedy_inside_a_traced_observer():
    metric = tf_metrics.DistanceFromGreedyMetric(lambda obs: obs * 2.0)

    @tf.function
    def observe(traj):
        metric(traj)
        return metric.result()

    value = observe(_traj([0, 0, 1, 0], tf.zeros(4)))
    # 2 * (max - chosen): [1, 0, 0, 0] * 2.
    np.testing.assert_allclose(value.numpy(), 0.5)
    assert metric.safe_explore.numpy() == 0.5
