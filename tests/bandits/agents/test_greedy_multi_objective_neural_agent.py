"""Multi-objective agent: learns each objective, acts on the scalarized predictions."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import greedy_multi_objective_neural_agent as gmo
from policylib.bandits.multi_objective import multi_objective_scalarizer as mos
from policylib.bandits.policies import greedy_multi_objective_neural_policy as gmop
from policylib.networks import q_network
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

CONTEXT = tensor_spec.TensorSpec([2], tf.float32)
ACTIONS = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
REWARD = tensor_spec.TensorSpec([2], tf.float32)
# Objective 0 pays 1 for action 0, objective 1 pays 1 for action 2; action 1 pays
# 0.6 on both: a weighted sum favours an end, the Chebyshev minimum the middle.
PAYOFF = np.array([[1.0, 0.6, 0.0], [0.0, 0.6, 1.0]], np.float32)


def _agent(scalarizer: mos.Scalarizer, **kwargs) -> gmo.GreedyMultiObjectiveNeuralAgent:
    networks = [
        (
            q_network.QNetwork(CONTEXT, ACTIONS, fc_layer_params=(8,)),
            tf.compat.v1.losses.mean_squared_error,
        )
        for _ in range(2)
    ]
    return gmo.GreedyMultiObjectiveNeuralAgent(
        ts.time_step_spec(CONTEXT, REWARD),
        ACTIONS,
        scalarizer,
        networks,
        optimizer=tf.keras.optimizers.Adam(0.05),
        **kwargs,
    )


def _experience(rng: np.random.Generator, n: int) -> trajectory.Trajectory:
    actions = rng.integers(0, 3, n).astype(np.int32)
    rewards = PAYOFF[:, actions].T + rng.normal(0, 0.05, (n, 2)).astype(np.float32)
    return trajectory.single_step(
        observation=tf.constant(rng.uniform(-1, 1, (n, 1, 2)), tf.float32),
        action=tf.constant(actions[:, None]),
        policy_info=policy_utilities.PolicyInfo(),
        reward=tf.constant(rewards[:, None]),
        discount=tf.ones([n, 1]),
    )


@pytest.mark.parametrize(
    "scalarizer, best",
    [
        (mos.LinearScalarizer([1.0, 0.2]), 0),
        (mos.LinearScalarizer([0.2, 1.0]), 2),
        (mos.ChebyshevScalarizer([1.0, 1.0], [0.0, 0.0]), 1),
    ],
)
def test_learns_both_objectives_and_follows_the_scalarizer(scalarizer, best) -> None:
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    agent = _agent(scalarizer)
    train = tf.function(agent.train)
    for _ in range(150):
        loss = train(_experience(rng, 32)).loss
    assert float(loss) < 0.05
    observation = tf.constant(rng.uniform(-1, 1, (20, 2)), tf.float32)
    step = agent.policy.action(ts.restart(observation, batch_size=20))
    np.testing.assert_array_equal(step.action, [best] * 20)
    # A policy over the same networks that reports its predictions.
    reporting = gmop.GreedyMultiObjectiveNeuralPolicy(
        agent.time_step_spec,
        ACTIONS,
        scalarizer,
        agent._objective_networks,
        emit_policy_info=("predicted_rewards_mean",),
    )
    step = reporting.action(ts.restart(observation, batch_size=20))
    predicted = step.info.predicted_rewards_mean.numpy()  # [batch, objectives, actions]
    np.testing.assert_allclose(predicted.mean(axis=0), PAYOFF, atol=0.15)


def test_per_row_scalarization_changes_each_rows_choice() -> None:
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    agent = _agent(mos.LinearScalarizer([1.0, 1.0]))
    for _ in range(150):
        agent.train(_experience(rng, 32))
    agent.policy.scalarizer.set_parameters(tf.constant([[1.0, 0.1], [0.1, 1.0]]))
    step = agent.policy.action(ts.restart(tf.zeros([2, 2]), batch_size=2))
    np.testing.assert_array_equal(step.action, [0, 2])


def test_bad_input_names_what_is_wrong() -> None:
    net = q_network.QNetwork(CONTEXT, ACTIONS, fc_layer_params=(4,))
    mse = tf.compat.v1.losses.mean_squared_error
    with pytest.raises(ValueError, match="at least two, but found to be 1"):
        gmo.GreedyMultiObjectiveNeuralAgent(
            ts.time_step_spec(CONTEXT, REWARD),
            ACTIONS,
            mos.LinearScalarizer([1.0, 1.0]),
            [(net, mse)],
            optimizer=None,
        )
    with pytest.raises(ValueError, match="laplacian_smoothing_weights cannot be None"):
        _agent(mos.LinearScalarizer([1.0, 1.0]), laplacian_matrix=np.zeros([3, 3]))
    with pytest.raises(
        ValueError, match="weights: 3 does not equal the number of objectives: 2"
    ):
        _agent(
            mos.LinearScalarizer([1.0, 1.0]),
            laplacian_matrix=np.zeros([3, 3]),
            laplacian_smoothing_weights=[0.1, 0.1, 0.1],
        )
    agent = _agent(mos.LinearScalarizer([1.0, 1.0]))
    with pytest.raises(
        ValueError, match=re.escape("reward: got [4, 1], expected [B, T] + [2]")
    ):
        agent.train(
            trajectory.single_step(
                observation=tf.zeros([4, 1, 2]),
                action=tf.zeros([4, 1], tf.int32),
                policy_info=policy_utilities.PolicyInfo(),
                reward=tf.zeros([4, 1]),
                discount=tf.ones([4, 1]),
            )
        )
    with pytest.raises(ValueError, match="should be rank-3, but is rank-2"):
        gmop.scalarize_objectives(tf.zeros([2, 3]), mos.LinearScalarizer([1.0, 1.0]))
    with pytest.raises(ValueError, match="objectives should be 2, but is 3"):
        gmop.scalarize_objectives(tf.zeros([1, 3, 3]), mos.LinearScalarizer([1.0, 1.0]))
