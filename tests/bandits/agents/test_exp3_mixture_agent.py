"""Exp3MixtureAgent: the EXP3 aggregate, temperature and logit updates of one
batch, restorable variables, and shifting the mixture to the better sub-agent."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import bernoulli_thompson_sampling_agent as bts_agent
from policylib.bandits.agents import exp3_mixture_agent
from policylib.bandits.policies import mixture_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.agents.test_mixture_agent import mixture_experience

OBS = tensor_spec.TensorSpec([], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 1)
TS_SPEC = ts.time_step_spec(OBS)


class FrozenAgent(bts_agent.BernoulliThompsonSamplingAgent):
    """A Bernoulli TS agent that never learns (its prior stays as set)."""

    def _train(self, experience, weights=None):
        return super()._train(experience, weights)._replace(loss=tf.constant(0.0))

    def set_prior(self, alpha, beta):
        for variable, value in zip(self.alpha + self.beta, alpha + beta):
            variable.assign(value)


def test_one_batch_update_matches_the_formulas():
    collection = exp3_mixture_agent.Exp3MixtureVariableCollection(
        3, reward_aggregates=[0.5, 0.0, -1.0], inverse_temperature=2.0
    )
    agent = exp3_mixture_agent.Exp3MixtureAgent(
        [bts_agent.BernoulliThompsonSamplingAgent(TS_SPEC, ACT) for _ in range(3)],
        variable_collection=collection,
        forgetting=0.9,
        max_inverse_temperature=1.0,
    )
    choice = np.array([0, 2, 2, 0, 0])
    reward = np.array([1.0, 0.0, 0.5, 0.25, 0.0])
    agent.train(mixture_experience([0, 1, 0, 1, 1], choice, reward))
    p = 1.0 / 3.0  # Softmax of the initial (zero) mixture weights.
    update = np.array(
        [1 - (0.0 + 0.75 + 1.0) / p, 1.0, 1 - (1.0 + 0.5) / p], np.float32
    )
    aggregates = 0.9 * (np.array([0.5, 0.0, -1.0]) + update)
    temperature = max(1.0, np.sqrt(2.0**2 + 5))
    np.testing.assert_allclose(
        collection.reward_aggregates.numpy(), aggregates, rtol=1e-5
    )
    np.testing.assert_allclose(collection.inverse_temperature.numpy(), temperature)
    np.testing.assert_allclose(
        agent._mixture_weights.numpy(), aggregates / temperature, rtol=1e-5
    )
    ids = {id(v) for v in agent.variables}
    assert (
        id(collection.reward_aggregates) in ids
        and id(collection.inverse_temperature) in ids
    )


def test_mixture_moves_to_the_learning_agent():
    rng = np.random.default_rng(4)
    means = np.array([0.1, 0.9])
    learner = bts_agent.BernoulliThompsonSamplingAgent(TS_SPEC, ACT)
    stuck = FrozenAgent(TS_SPEC, ACT)
    stuck.set_prior([1000.0, 1.0], [1.0, 1000.0])  # Always plays the bad arm 0.
    agent = exp3_mixture_agent.Exp3MixtureAgent(
        [learner, stuck], forgetting=0.9, max_inverse_temperature=10.0
    )
    time_step = ts.restart(tf.zeros([20]), 20)
    for i in range(15):
        step = agent.collect_policy.action(time_step, seed=i)
        action = step.action.numpy()
        reward = (rng.uniform(size=20) < means[action]).astype(np.float32)
        choice = step.info[mixture_policy.MIXTURE_AGENT_ID].numpy()
        agent.train(mixture_experience(action, choice, reward))
    probabilities = tf.nn.softmax(agent._mixture_weights).numpy()
    assert probabilities[0] > 0.95


def test_bad_arguments():
    agents = [bts_agent.BernoulliThompsonSamplingAgent(TS_SPEC, ACT) for _ in range(2)]
    with pytest.raises(ValueError, match=r"`num_agents` \(2\) elements; got 3"):
        exp3_mixture_agent.Exp3MixtureVariableCollection(2, reward_aggregates=[0, 0, 0])
    with pytest.raises(TypeError, match="Exp3MixtureVariableCollection`; got dict"):
        exp3_mixture_agent.Exp3MixtureAgent(agents, variable_collection={})
    with pytest.raises(
        ValueError, match=r"shape `\[len\(agents\)\]` = \[2\]; got \(3,\)"
    ):
        exp3_mixture_agent.Exp3MixtureAgent(
            agents,
            variable_collection=exp3_mixture_agent.Exp3MixtureVariableCollection(3),
        )
    with pytest.raises(ValueError, match=r"forgetting must be in \(0, 1\]; got 0.0"):
        exp3_mixture_agent.Exp3MixtureAgent(agents, forgetting=0.0)
