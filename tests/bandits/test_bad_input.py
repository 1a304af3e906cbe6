"""Bad input to bandit policies and agents fails with the spec path, expected vs got."""

from __future__ import annotations

import re

import pytest
import tensorflow as tf

from policylib.bandits.agents import (
    greedy_reward_prediction_agent,
    lin_ucb_agent,
    neural_epsilon_greedy_agent,
)
from policylib.bandits.networks import global_and_arm_feature_network
from policylib.bandits.policies import policy_utilities
from policylib.networks import q_network
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

CONTEXT = tensor_spec.TensorSpec([4], tf.float32)
ACTIONS = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _experience(observation, reward, info=None) -> trajectory.Trajectory:
    return trajectory.single_step(
        observation=observation,
        action=tf.zeros([2, 1], tf.int32),
        policy_info=info or policy_utilities.PolicyInfo(),
        reward=reward,
        discount=tf.ones([2, 1]),
    )


def test_a_context_of_the_wrong_dimension_names_both_dimensions() -> None:
    agent = lin_ucb_agent.LinearUCBAgent(ts.time_step_spec(CONTEXT), ACTIONS)
    with pytest.raises(
        ValueError, match=re.escape("context dimension is 4, the observation's 5")
    ):
        agent.policy.action(ts.restart(tf.zeros([2, 5]), batch_size=2))
    with pytest.raises(
        ValueError, match=re.escape("observation: got [2, 1, 5], expected [B, T] + [4]")
    ):
        agent.train(_experience(tf.zeros([2, 1, 5]), tf.zeros([2, 1])))


def _per_arm_agent() -> neural_epsilon_greedy_agent.NeuralEpsilonGreedyAgent:
    spec = bandit_spec_utils.create_per_arm_observation_spec(3, 2, 4)
    network = global_and_arm_feature_network.create_feed_forward_common_tower_network(
        spec, (4,), (4,), (4,)
    )
    return neural_epsilon_greedy_agent.NeuralEpsilonGreedyAgent(
        ts.time_step_spec(spec),
        tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
        reward_network=network,
        optimizer=tf.keras.optimizers.Adam(),
        epsilon=0.1,
        accepts_per_arm_features=True,
    )


def test_an_observation_without_the_per_arm_key_names_the_missing_key() -> None:
    policy = _per_arm_agent().policy
    with pytest.raises(
        ValueError,
        match=re.escape(
            "first difference at observation: keys ['global'] vs ['global', "
            "'per_arm'], missing ['per_arm']"
        ),
    ):
        policy.action(ts.restart({"global": tf.zeros([2, 3])}, batch_size=2))


def test_per_arm_features_for_the_wrong_number_of_arms_name_the_spec_path() -> None:
    policy = _per_arm_agent().policy
    observation = {"global": tf.zeros([2, 3]), "per_arm": tf.zeros([2, 3, 2])}
    with pytest.raises(
        ValueError,
        match=re.escape("time_step.observation/per_arm has shape (2, 3, 2); expected"),
    ) as error:
        policy.action(ts.restart(observation, batch_size=2))
    assert "(4, 2)" in str(error.value)


def test_an_action_mask_of_the_wrong_width_names_the_spec_path() -> None:
    spec = (CONTEXT, tensor_spec.TensorSpec([3], tf.int32))
    agent = lin_ucb_agent.LinearUCBAgent(
        ts.time_step_spec(spec),
        ACTIONS,
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
    )
    observation = (tf.zeros([2, 4]), tf.ones([2, 4], tf.int32))
    with pytest.raises(
        ValueError,
        match=re.escape("time_step.observation/1 has shape (2, 4); expected"),
    ) as error:
        agent.policy.action(ts.restart(observation, batch_size=2))
    assert "(3,)" in str(error.value)


def test_a_scalar_reward_for_a_multi_objective_spec_names_the_reward() -> None:
    reward_spec = tensor_spec.TensorSpec([3], tf.float32)
    agent = greedy_reward_prediction_agent.GreedyRewardPredictionAgent(
        ts.time_step_spec(CONTEXT, reward_spec),
        ACTIONS,
        reward_network=q_network.QNetwork(CONTEXT, ACTIONS, fc_layer_params=(4,)),
        optimizer=tf.keras.optimizers.Adam(),
    )
    info = policy_utilities.PolicyInfo(predicted_rewards_mean=tf.zeros([2, 1, 3]))
    with pytest.raises(
        ValueError, match=re.escape("reward: got [2, 1], expected [B, T] + [3]")
    ):
        agent.train(_experience(tf.zeros([2, 1, 4]), tf.zeros([2, 1]), info))
