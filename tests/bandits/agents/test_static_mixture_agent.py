"""StaticMixtureAgent: acts through its sub-agents in the given proportions,
trains each on its share, and never changes the mixture."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.agents import bernoulli_thompson_sampling_agent as bts_agent
from policylib.bandits.agents import static_mixture_agent
from policylib.bandits.policies import mixture_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.agents.test_mixture_agent import mixture_experience

OBS = tensor_spec.TensorSpec([], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def test_collect_and_train_keep_the_static_proportions():
    rng = np.random.default_rng(2)
    agents = [
        bts_agent.BernoulliThompsonSamplingAgent(ts.time_step_spec(OBS), ACT)
        for _ in range(2)
    ]
    probs = tf.Variable([0.25, 0.75])
    agent = static_mixture_agent.StaticMixtureAgent(
        tfp.distributions.Categorical(probs=probs), agents
    )
    time_step = ts.restart(tf.zeros([400]), 400)
    step = agent.collect_policy.action(time_step, seed=3)
    choice = step.info[mixture_policy.MIXTURE_AGENT_ID].numpy()
    np.testing.assert_allclose(np.bincount(choice) / 400, [0.25, 0.75], atol=0.05)
    reward = rng.uniform(size=400) < 0.5
    agent.train(mixture_experience(step.action.numpy(), choice, reward))
    for k in range(2):
        # Every sample of sub-agent k went into exactly one of its alpha/beta counts.
        counts = sum(
            a.numpy() + b.numpy() - 2.0 for a, b in zip(agents[k].alpha, agents[k].beta)
        )
        assert counts == np.sum(choice == k)
        successes = sum(a.numpy() - 1.0 for a in agents[k].alpha)
        assert successes == np.sum(reward[choice == k])
    np.testing.assert_array_equal(probs.numpy(), [0.25, 0.75])
    assert any(v is probs for v in agent.policy.variables())
