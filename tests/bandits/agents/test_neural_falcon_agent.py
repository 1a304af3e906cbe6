"""NeuralFalconAgent: its policy is FALCON's over the reward network and
reads the per-arm sample counts that training fills; it becomes greedy once
trained with a large exploitation coefficient."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import neural_falcon_agent
from policylib.bandits.policies import falcon_reward_prediction_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.agents.test_greedy_reward_prediction_agent import (
    LinearNet,
    X,
    _experience,
)

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _agent(counts, **kwargs):
    return neural_falcon_agent.NeuralFalconAgent(
        ts.time_step_spec(OBS),
        ACT,
        reward_network=LinearNet(),
        optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.05),
        num_samples_list=counts,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
        emit_policy_info=(
            policy_utilities.InfoFields.LOG_PROBABILITY,
            policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,
        ),
        **kwargs,
    )


def test_training_fills_the_counts_and_the_policy_turns_greedy() -> None:
    counts = [tf.Variable(0, dtype=tf.int64) for _ in range(3)]
    agent = _agent(counts, exploitation_coefficient=1e4)
    assert isinstance(
        agent.policy, falcon_reward_prediction_policy.FalconRewardPredictionPolicy
    )
    action = np.tile(np.arange(3, dtype=np.int32), 20)
    x = np.random.default_rng(0).normal(size=(60, 2)).astype(np.float32)
    reward = x[:, 0] * (action == 0) - x[:, 1] * (action == 2)
    info = policy_utilities.PolicyInfo(
        log_probability=np.zeros(60, np.float32),
        predicted_rewards_mean=np.zeros((60, 3), np.float32),
    )
    experience = _experience(
        observation=x, action=action, reward=reward, policy_info=info
    )
    for _ in range(40):
        agent.train(experience)
    assert [int(c) for c in counts] == [800, 800, 800]
    step = agent.policy.action(ts.restart(tf.constant(X), 4), seed=1)
    np.testing.assert_array_equal(
        step.action, np.argmax(step.info.predicted_rewards_mean, axis=1)
    )
    np.testing.assert_allclose(step.info.log_probability, np.zeros(4), atol=1e-2)


def test_untrained_policy_explores() -> None:
    counts = [tf.Variable(0, dtype=tf.int64) for _ in range(3)]
    agent = _agent(counts, exploitation_coefficient=1.0)
    x = np.repeat(X[:1], 3000, axis=0)
    actions = agent.policy.action(ts.restart(tf.constant(x), 3000), seed=1).action
    assert len(set(actions.numpy())) == 3


def test_needs_one_counter_per_arm() -> None:
    with pytest.raises(ValueError, match=r"one counter per action \(3\)"):
        _agent([tf.Variable(0, dtype=tf.int64)])
