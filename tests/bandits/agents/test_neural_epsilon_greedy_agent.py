"""NeuralEpsilonGreedyAgent: it learns a seeded linear bandit, explores with
probability epsilon (only among allowed arms), keeps greedy info fields on
request, and rejects a bad epsilon."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import neural_epsilon_greedy_agent as eg_agent
from policylib.networks import q_network
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.utils import common
from tests.bandits.agents.test_greedy_reward_prediction_agent import (
    LinearNet,
    X,
    _predictions,
)

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
# Expected reward of arm a in context x: x @ THETA[:, a].
THETA = np.array([[1.0, -0.5, 0.0], [0.0, 1.0, -1.0]], np.float32)


def _agent(epsilon, reward_network=None, time_step_spec=None, **kwargs):
    return eg_agent.NeuralEpsilonGreedyAgent(
        time_step_spec or ts.time_step_spec(OBS),
        ACT,
        reward_network=reward_network or LinearNet(),
        optimizer=kwargs.pop("optimizer", None),
        epsilon=epsilon,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
        **kwargs,
    )


def _bandit_batch(rng, agent, batch):
    """Contexts, the collect policy's arms, their noisy rewards, as `[B, 1]`."""
    x = rng.normal(size=(batch, 2)).astype(np.float32)
    action = agent.collect_policy.action(ts.restart(tf.constant(x), batch)).action
    action = action.numpy()
    means = x @ THETA
    reward = means[np.arange(batch), action] + 0.1 * rng.normal(size=batch)
    experience = trajectory.Trajectory(
        step_type=tf.fill([batch, 1], ts.StepType.FIRST),
        observation=tf.constant(x[:, None]),
        action=tf.constant(action[:, None]),
        policy_info=policy_utilities.PolicyInfo(),
        next_step_type=tf.fill([batch, 1], ts.StepType.LAST),
        reward=tf.constant(reward[:, None].astype(np.float32)),
        discount=tf.zeros([batch, 1]),
    )
    best = action == np.argmax(means, axis=1)
    return experience, best


def test_learns_a_linear_bandit() -> None:
    rng = np.random.default_rng(0)
    tf.keras.utils.set_random_seed(0)
    net = q_network.QNetwork(OBS, ACT, fc_layer_params=(16,))
    agent = _agent(0.1, reward_network=net, optimizer=tf.keras.optimizers.Adam(0.02))
    train = common.function(agent.train)
    eval_x = rng.normal(size=(500, 2)).astype(np.float32)
    eval_best = np.argmax(eval_x @ THETA, axis=1)
    greedy = agent.policy.wrapped_policy

    def greedy_accuracy():
        chosen = greedy.action(ts.restart(tf.constant(eval_x), 500)).action
        return np.mean(chosen.numpy() == eval_best)

    accuracy_before = greedy_accuracy()
    losses, best_fraction = [], []
    for _ in range(120):
        experience, best = _bandit_batch(rng, agent, 32)
        losses.append(float(train(experience).loss))
        best_fraction.append(best.mean())
    assert np.mean(losses[-10:]) < 0.2 * np.mean(losses[:10])
    assert greedy_accuracy() > 0.9 > accuracy_before
    # With epsilon = 0.1 the best arm is played ~93 % of the time once learnt.
    assert np.mean(best_fraction[:5]) < 0.75 < 0.88 < np.mean(best_fraction[-20:])
    assert int(agent.train_step_counter) == 120


def test_epsilon_zero_is_greedy_and_epsilon_one_uniform() -> None:
    obs = tf.constant(np.repeat(X, 750, axis=0))
    greedy = _agent(0.0).policy.action(ts.restart(obs, 3000)).action.numpy()
    np.testing.assert_array_equal(
        greedy, np.repeat(np.argmax(_predictions(), axis=1), 750)
    )
    uniform = _agent(1.0).policy.action(ts.restart(obs, 3000), seed=5).action
    np.testing.assert_allclose(
        np.bincount(uniform.numpy(), minlength=3) / 3000, [1 / 3] * 3, atol=0.04
    )


def test_exploration_stays_within_the_mask() -> None:
    spec = ts.time_step_spec((OBS, tensor_spec.TensorSpec([3], tf.int32)))
    agent = _agent(
        1.0,
        time_step_spec=spec,
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
    )
    mask = np.tile(np.array([[1, 0, 1]], np.int32), (1000, 1))
    obs = (tf.constant(np.zeros((1000, 2), np.float32)), tf.constant(mask))
    actions = agent.policy.action(ts.restart(obs, 1000), seed=2).action.numpy()
    assert set(actions) == {0, 2}


def test_greedy_info_fields_are_kept_when_exploring() -> None:
    field = policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN
    agent = _agent(
        1.0, emit_policy_info=(field,), info_fields_to_inherit_from_greedy=[field]
    )
    step = agent.policy.action(ts.restart(tf.constant(X), 4), seed=3)
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean, _predictions(), rtol=1e-6
    )
    assert agent.policy.info_fields_to_inherit_from_greedy == (field,)


def test_trains_with_the_greedy_agents_loss() -> None:
    agent = _agent(0.2, optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.01))
    action = np.array([0, 1, 2, 1], np.int32)
    reward = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    experience = trajectory.Trajectory(
        step_type=tf.fill([4, 1], ts.StepType.FIRST),
        observation=tf.constant(X[:, None]),
        action=tf.constant(action[:, None]),
        policy_info=policy_utilities.PolicyInfo(),
        next_step_type=tf.fill([4, 1], ts.StepType.LAST),
        reward=tf.constant(reward[:, None]),
        discount=tf.zeros([4, 1]),
    )
    loss = agent.train(experience).loss
    played = _predictions()[np.arange(4), action]
    np.testing.assert_allclose(loss, np.mean((reward - played) ** 2), rtol=1e-5)


def test_bad_epsilon() -> None:
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\], got 1.5"):
        _agent(1.5)
