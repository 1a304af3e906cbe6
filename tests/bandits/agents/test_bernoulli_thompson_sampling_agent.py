"""BernoulliThompsonSamplingAgent: Beta counts per arm from clipped rewards,
shared variable collections, step counting, and converging on the best arm."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import bernoulli_thompson_sampling_agent as bts_agent
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

OBS = tensor_spec.TensorSpec([], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
TS_SPEC = ts.time_step_spec(OBS)


def _experience(action, reward):
    batch = len(action)
    return trajectory.Trajectory(
        step_type=tf.fill([batch, 1], ts.StepType.FIRST),
        observation=tf.zeros([batch, 1]),
        action=tf.constant(np.asarray(action)[:, None], tf.int32),
        policy_info=policy_utilities.PolicyInfo(),
        next_step_type=tf.fill([batch, 1], ts.StepType.LAST),
        reward=tf.constant(np.asarray(reward)[:, None], tf.float32),
        discount=tf.zeros([batch, 1]),
    )


def test_counts_clipped_successes_and_failures_per_arm():
    agent = bts_agent.BernoulliThompsonSamplingAgent(
        TS_SPEC, ACT, dtype=tf.float64, batch_size=None
    )
    agent.train_step_counter.assign(0)
    loss = agent.train(_experience([0, 0, 2, 2, 2], [1.0, 0.0, 0.25, 3.0, -1.0]))
    np.testing.assert_allclose([a.numpy() for a in agent.alpha], [2.0, 1.0, 2.25])
    np.testing.assert_allclose([b.numpy() for b in agent.beta], [2.0, 1.0, 2.75])
    assert agent.alpha[0].dtype == tf.float64
    np.testing.assert_allclose(loss.loss.numpy(), -2.25)
    assert int(agent.train_step_counter.numpy()) == 5


def test_fixed_batch_size_counter_and_shared_collection():
    collection = bts_agent.BernoulliBanditVariableCollection(num_actions=3)
    agent = bts_agent.BernoulliThompsonSamplingAgent(
        TS_SPEC,
        ACT,
        variable_collection=collection,
        batch_size=7,
    )
    agent.train_step_counter.assign(0)
    agent.train(_experience([1, 1], [1.0, 1.0]))
    assert int(agent.train_step_counter.numpy()) == 7
    assert collection.alpha[1].numpy() == 3.0
    # A second agent on the same collection sees the counts.
    reader = bts_agent.BernoulliThompsonSamplingAgent(
        TS_SPEC,
        ACT,
        variable_collection=collection,
        emit_policy_info=("predicted_rewards_mean",),
    )
    step = reader.policy.action(ts.restart(tf.zeros([2]), 2))
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean.numpy(), [[0.5, 0.75, 0.5]] * 2
    )
    checkpoint_vars = {id(v) for v in agent.variables}
    assert all(id(v) in checkpoint_vars for v in collection.alpha + collection.beta)


def test_converges_on_the_best_arm():
    rng = np.random.default_rng(1)
    means = np.array([0.3, 0.45, 0.7])
    agent = bts_agent.BernoulliThompsonSamplingAgent(TS_SPEC, ACT)
    time_step = ts.restart(tf.zeros([16]), 16)
    plays = np.zeros(3)
    for i in range(40):
        action = agent.collect_policy.action(time_step, seed=i).action.numpy()
        reward = (rng.uniform(size=16) < means[action]).astype(np.float32)
        agent.train(_experience(action, reward))
        if i >= 30:
            plays += np.bincount(action, minlength=3)
    assert plays[2] / plays.sum() > 0.8


def test_bad_arguments():
    with pytest.raises(TypeError, match="BernoulliBanditVariableCollection`; got dict"):
        bts_agent.BernoulliThompsonSamplingAgent(TS_SPEC, ACT, variable_collection={})
    with pytest.raises(ValueError, match="has 2 arms, but the action spec has 3"):
        bts_agent.BernoulliThompsonSamplingAgent(
            TS_SPEC,
            ACT,
            variable_collection=bts_agent.BernoulliBanditVariableCollection(2),
        )
    with pytest.raises(ValueError, match="float32 or tf.float64; got dtype int32"):
        bts_agent.BernoulliThompsonSamplingAgent(TS_SPEC, ACT, dtype=tf.int32)
    with pytest.raises(ValueError, match="minimum must be 0"):
        bts_agent.BernoulliThompsonSamplingAgent(
            TS_SPEC, tensor_spec.BoundedTensorSpec((), tf.int32, 1, 3)
        )
