"""MixtureAgent: splits nests by partition, trains each sub-agent on exactly the
samples it chose, then calls the subclass's mixture update; rejects mixtures of
agents with different specs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.agents import bernoulli_thompson_sampling_agent as bts_agent
from policylib.bandits.agents import mixture_agent
from policylib.bandits.policies import mixture_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

OBS = tensor_spec.TensorSpec([], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
TS_SPEC = ts.time_step_spec(OBS)


class RecordingMixture(mixture_agent.MixtureAgent):
    """Counts mixture updates and keeps the last experience it was given."""

    def __init__(self, *args, **kwargs):
        self.updates = []
        super().__init__(*args, **kwargs)

    def _update_mixture_distribution(self, experience):
        self.updates.append(experience)


def mixture_experience(action, choice, reward):
    """A `[B, 1]` batch as a mixture of Bernoulli TS agents collects it."""
    batch = len(action)

    def col(x, dtype):
        return tf.constant(np.asarray(x)[:, None], dtype)

    return trajectory.Trajectory(
        step_type=tf.fill([batch, 1], ts.StepType.FIRST),
        observation=tf.zeros([batch, 1]),
        action=col(action, tf.int32),
        policy_info={
            mixture_policy.MIXTURE_AGENT_ID: col(choice, tf.int32),
            mixture_policy.SUBPOLICY_INFO: policy_utilities.PolicyInfo(),
        },
        next_step_type=tf.fill([batch, 1], ts.StepType.LAST),
        reward=col(reward, tf.float32),
        discount=tf.zeros([batch, 1]),
    )


def _bts_agents(n):
    return [bts_agent.BernoulliThompsonSamplingAgent(TS_SPEC, ACT) for _ in range(n)]


def test_dynamic_partition_of_nested_tensors():
    nest = {"a": tf.reshape(tf.range(10), [5, 2]), "b": [tf.range(5)]}
    parts = mixture_agent._dynamic_partition_of_nested_tensors(
        nest, tf.constant([1, 0, 1, 2, 1]), 3
    )
    assert len(parts) == 3
    np.testing.assert_array_equal(parts[1]["a"].numpy(), [[0, 1], [4, 5], [8, 9]])
    np.testing.assert_array_equal(parts[1]["b"][0].numpy(), [0, 2, 4])
    np.testing.assert_array_equal(parts[2]["b"][0].numpy(), [3])
    assert parts[0]["a"].shape == (1, 2)
    assert mixture_agent._dynamic_partition_of_nested_tensors((), [0, 1], 2) == [(), ()]


def test_each_sub_agent_trains_on_its_own_samples():
    agents = _bts_agents(3)
    mixture = RecordingMixture(
        tfp.distributions.Categorical(logits=tf.zeros(3)), agents
    )
    assert mixture.policy is mixture.collect_policy
    assert isinstance(mixture.policy, mixture_policy.MixturePolicy)
    loss = mixture.train(
        mixture_experience(
            action=[0, 1, 1, 2, 0, 0],
            choice=[0, 2, 2, 0, 1, 2],
            reward=[1.0, 0.0, 1.0, 1.0, 0.0, 1.0],
        )
    )
    # Agent 0 saw (arm 0, 1) and (arm 2, 1); agent 1 (arm 0, 0); agent 2 (arm 1, 0),
    # (arm 1, 1) and (arm 0, 1).
    np.testing.assert_allclose([a.numpy() for a in agents[0].alpha], [2, 1, 2])
    np.testing.assert_allclose([b.numpy() for b in agents[1].beta], [2, 1, 1])
    np.testing.assert_allclose([a.numpy() for a in agents[2].alpha], [2, 2, 1])
    np.testing.assert_allclose([b.numpy() for b in agents[2].beta], [1, 2, 1])
    np.testing.assert_allclose(loss.loss.numpy(), -4.0)
    assert len(mixture.updates) == 1
    assert mixture.agents == agents


def test_abstract_and_inconsistent_mixtures_are_rejected():
    dist = tfp.distributions.Categorical(logits=tf.zeros(2))
    with pytest.raises(TypeError, match="abstract"):
        mixture_agent.MixtureAgent(dist, _bts_agents(2))
    with pytest.raises(ValueError, match="at least one agent"):
        RecordingMixture(dist, [])
    other = bts_agent.BernoulliThompsonSamplingAgent(
        TS_SPEC, tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3)
    )
    with pytest.raises(ValueError, match="Inconsistent action specs: agents 0 and 1"):
        RecordingMixture(dist, [_bts_agents(1)[0], other])
    with_info = bts_agent.BernoulliThompsonSamplingAgent(
        TS_SPEC, ACT, emit_policy_info=("predicted_rewards_mean",)
    )
    with pytest.raises(ValueError, match="Inconsistent info specs"):
        RecordingMixture(dist, [_bts_agents(1)[0], with_info])
