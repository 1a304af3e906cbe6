"""NeuralBoltzmannAgent: its policy samples from the softmax of the predicted
rewards over the temperature, Boltzmann-Gumbel exploration reads the sample
counters that training fills, and training uses the reward-prediction loss."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from policylib.bandits.agents import neural_boltzmann_agent
from policylib.bandits.policies import boltzmann_reward_prediction_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.agents.test_greedy_reward_prediction_agent import (
    A,
    LinearNet,
    R,
    X,
    _experience,
    _predictions,
)

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _agent(**kwargs):
    kwargs.setdefault("optimizer", None)
    return neural_boltzmann_agent.NeuralBoltzmannAgent(
        ts.time_step_spec(OBS),
        ACT,
        reward_network=LinearNet(),
        train_step_counter=tf.Variable(0, dtype=tf.int64),
        **kwargs,
    )


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def test_policy_samples_the_tempered_softmax() -> None:
    agent = _agent(
        temperature=2.0,
        emit_policy_info=(policy_utilities.InfoFields.LOG_PROBABILITY,),
    )
    assert isinstance(
        agent.policy, boltzmann_reward_prediction_policy.BoltzmannRewardPredictionPolicy
    )
    assert agent.collect_policy is agent.policy
    x = np.repeat(X[1:2], 4000, axis=0)
    step = agent.policy.action(ts.restart(tf.constant(x), 4000), seed=4)
    actions = step.action.numpy()
    probabilities = np.exp(_log_softmax(_predictions(X[1:2]) / 2.0))[0]
    np.testing.assert_allclose(
        np.bincount(actions, minlength=3) / 4000, probabilities, atol=0.03
    )
    np.testing.assert_allclose(
        step.info.log_probability, np.log(probabilities)[actions], rtol=1e-4
    )


def test_low_temperature_is_greedy() -> None:
    agent = _agent(temperature=lambda: 1e-4)
    step = agent.policy.action(ts.restart(tf.constant(X), 4), seed=1)
    np.testing.assert_array_equal(step.action, np.argmax(_predictions(), axis=1))


def test_boltzmann_gumbel_counts_samples_while_training() -> None:
    counts = [tf.Variable(0, dtype=tf.int64) for _ in range(3)]
    agent = _agent(
        boltzmann_gumbel_exploration_constant=10.0,
        num_samples_list=counts,
        optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.01),
    )
    played = _predictions()[np.arange(4), A]
    loss = agent.train(_experience()).loss
    np.testing.assert_allclose(loss, np.mean((R - played) ** 2), rtol=1e-5)
    assert [int(c) for c in counts] == [1, 2, 1]
    actions = agent.policy.action(ts.restart(tf.constant(X), 4), seed=2).action
    assert set(actions.numpy()) <= {0, 1, 2}
