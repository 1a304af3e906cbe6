"""Exp3Agent: importance-weighted weight updates, per-sample step counting, and
learning the best arm of a seeded Bernoulli bandit from its own policy's actions."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import exp3_agent
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _experience(action, log_prob, reward):
    """A `[B, 1]` batch of one-step episodes."""
    batch = len(action)

    def col(x, dtype):
        return tf.constant(np.asarray(x)[:, None], dtype)

    return trajectory.Trajectory(
        step_type=tf.fill([batch, 1], ts.StepType.FIRST),
        observation=tf.zeros([batch, 1, 2]),
        action=col(action, tf.int32),
        policy_info=policy_step.PolicyInfo(log_probability=col(log_prob, tf.float32)),
        next_step_type=tf.fill([batch, 1], ts.StepType.LAST),
        reward=col(reward, tf.float32),
        discount=tf.zeros([batch, 1]),
    )


def _agent(learning_rate=1.0):
    return exp3_agent.Exp3Agent(
        ts.time_step_spec(OBS), ACT, learning_rate=learning_rate
    )


def test_selective_sum_and_update_value():
    np.testing.assert_array_equal(
        exp3_agent.selective_sum([[1.0, 2.0], [3.0, 4.0]], [[2, 0], [2, 2]], 3).numpy(),
        [2.0, 0.0, 8.0],
    )
    np.testing.assert_allclose(
        exp3_agent.exp3_update_value(tf.constant([1.0, 0.0]), tf.math.log([0.5, 0.25])),
        [1.0, -3.0],
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_partitions"):
        exp3_agent.selective_sum([1.0], [3], 3)


def test_train_adds_importance_weighted_increments_and_counts_samples():
    agent = _agent()
    agent.train_step_counter.assign(0)
    loss = agent.train(
        _experience([0, 2, 2, 0], np.log([0.5, 0.25, 0.5, 1.0]), [1.0, 0.0, 0.5, 0.2])
    )
    # 1 - (1 - r) / p per sample, summed per arm.
    np.testing.assert_allclose(
        agent.weights.numpy(),
        [(1 - 0 / 0.5) + (1 - 0.8 / 1.0), 0.0, (1 - 4.0) + (1 - 1.0)],
    )
    np.testing.assert_allclose(loss.loss.numpy(), -1.7)
    assert int(agent.train_step_counter.numpy()) == 4
    agent.learning_rate = 0.25
    assert agent.learning_rate.numpy() == 0.25
    assert agent.num_actions == 3


def test_learns_the_best_arm_from_its_own_actions():
    rng = np.random.default_rng(0)
    means = np.array([0.2, 0.8, 0.5])
    agent = _agent(learning_rate=0.05)
    time_step = ts.restart(tf.zeros([20, 2]), 20)
    for i in range(60):
        step = agent.collect_policy.action(time_step, seed=i)
        action = step.action.numpy()
        reward = (rng.uniform(size=20) < means[action]).astype(np.float32)
        log_prob = policy_step.get_log_probability(step.info).numpy()
        agent.train(_experience(action, log_prob, reward))
    probs = tf.nn.softmax(0.05 * agent.weights).numpy()
    assert probs.argmax() == 1 and probs[1] > 0.8
