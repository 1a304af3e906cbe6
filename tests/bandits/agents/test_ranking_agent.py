"""Ranking agent: cascading/score-vector targets, slot weights, and learning to rank."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import ranking_agent
from policylib.bandits.networks import global_and_arm_feature_network as arm_net
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

GLOBAL, PER_ARM, NUM = (
    bandit_spec_utils.GLOBAL_FEATURE_KEY,
    bandit_spec_utils.PER_ARM_FEATURE_KEY,
    bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY,
)
CASCADING_REWARD = {
    ranking_agent.CHOSEN_INDEX: tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
    ranking_agent.CHOSEN_VALUE: tensor_spec.TensorSpec((), tf.float32),
}


def _agent(reward_spec, num_items=6, num_slots=3, num_actions=False, **kwargs):
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, 3, num_items, add_num_actions_feature=num_actions
    )
    network = arm_net.create_feed_forward_common_tower_network(
        obs_spec, (8,), (8,), (8,)
    )
    return ranking_agent.RankingAgent(
        ts.time_step_spec(obs_spec, reward_spec=reward_spec),
        tensor_spec.BoundedTensorSpec((num_slots,), tf.int32, 0, num_items - 1),
        network,
        tf.keras.optimizers.Adam(0.02),
        **kwargs,
    )


def _experience(observation, reward):
    """A batch of single-step slate trajectories, `[B, 1, ...]` per leaf."""
    batch = tf.nest.flatten(observation)[0].shape[0]
    experience = trajectory.Trajectory(
        step_type=tf.zeros([batch], tf.int32),
        observation=observation,
        action=(),
        policy_info=(),
        next_step_type=tf.fill([batch], 2),
        reward=reward,
        discount=tf.ones([batch]),
    )
    return tf.nest.map_structure(lambda t: tf.expand_dims(t, 1), experience)


def test_cascading_scores_mark_skipped_clicked_and_unseen_slots():
    scores = ranking_agent.compute_score_tensor_for_cascading(
        tf.constant([0, 2, 3]), tf.constant([5.0, 2.0, 9.0]), 3, non_click_score=-0.5
    )
    np.testing.assert_allclose(
        scores, [[5.0, 0.0, 0.0], [-0.5, -0.5, 2.0], [-0.5, -0.5, -0.5]]
    )


def test_slot_weights_combine_availability_clicks_and_positional_bias():
    agent = _agent(
        CASCADING_REWARD,
        num_actions=True,
        positional_bias_type="base",
        positional_bias_severity=2.0,
    )
    reward = {
        ranking_agent.CHOSEN_INDEX: tf.constant([0, 2, 3]),
        ranking_agent.CHOSEN_VALUE: tf.ones([3]),
    }
    observation = {NUM: tf.constant([3, 3, 2])}
    weights = agent._construct_sample_weights(
        reward, observation, tf.constant([1.0, 2.0, 1.0])
    )
    # Slot k's bias is (k + 1)^2; the click hides the slots below it; slot 3 of
    # the last row holds no item (num_actions 2).
    np.testing.assert_allclose(
        weights, [[1.0, 0.0, 0.0], [2.0, 8.0, 18.0], [1.0, 4.0, 0.0]]
    )
    agent = _agent(
        tensor_spec.TensorSpec([3], tf.float32),
        feedback_model=ranking_agent.FeedbackModel.SCORE_VECTOR,
        positional_bias_type="exponent",
        positional_bias_severity=3.0,
    )
    weights = agent._construct_sample_weights(tf.zeros([2, 3]), {}, None)
    np.testing.assert_allclose(weights, [[1.0, 3.0, 9.0]] * 2)


def test_the_agent_learns_to_rank_relevant_items_first():
    # An item's relevance is its first feature; the score-vector feedback of a
    # slate is that relevance per slot. After training, the greedy (descending
    # score) policy ranks the most relevant candidates first.
    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    agent = _agent(
        tensor_spec.TensorSpec([3], tf.float32),
        feedback_model=ranking_agent.FeedbackModel.SCORE_VECTOR,
        policy_type=ranking_agent.RankingPolicyType.DESCENDING_SCORES,
    )
    train = tf.function(agent.train)
    # The default counter is the global step, which other agents in the process
    # may have moved: count this test's steps.
    steps_before = int(agent.train_step_counter)
    losses = []
    for _ in range(150):
        slotted = rng.uniform(-1, 1, [32, 3, 3]).astype(np.float32)
        observation = {
            GLOBAL: tf.constant(rng.uniform(-1, 1, [32, 2]).astype(np.float32)),
            PER_ARM: tf.constant(slotted),
        }
        losses.append(float(train(_experience(observation, slotted[..., 0])).loss))
    assert np.mean(losses[-10:]) < 0.1 * np.mean(losses[:10])
    assert int(agent.train_step_counter) - steps_before == 150
    candidates = rng.uniform(-1, 1, [16, 6, 3]).astype(np.float32)
    step = ts.restart(
        {
            GLOBAL: tf.zeros([16, 2]),
            PER_ARM: tf.constant(candidates),
        },
        batch_size=16,
    )
    slates = agent.policy.action(step).action.numpy()
    best_three = np.argsort(-candidates[..., 0], axis=1)[:, :3]
    agreement = np.mean(slates[:, 0] == best_three[:, 0])
    assert agreement >= 0.8, (slates, best_three)


def test_cascading_training_ignores_slots_below_the_click():
    agent = _agent(CASCADING_REWARD)
    observation = {
        GLOBAL: tf.zeros([2, 2]),
        PER_ARM: tf.random.stateless_normal([2, 3, 3], seed=[1, 2]),
    }
    reward = {
        ranking_agent.CHOSEN_INDEX: tf.constant([0, 0]),
        ranking_agent.CHOSEN_VALUE: tf.constant([1.0, 1.0]),
    }
    experience = _experience(observation, reward)
    predicted, _ = agent._scoring_network(observation)
    expected = np.mean((1.0 - predicted.numpy()[:, 0]) ** 2)
    assert float(agent.loss(experience).loss) == pytest.approx(expected, rel=1e-5)


def test_bad_configurations_are_named():
    score_vector = tensor_spec.TensorSpec([3], tf.float32)
    with pytest.raises(ValueError, match="Parameter `non_click_score`"):
        _agent(
            score_vector,
            feedback_model=ranking_agent.FeedbackModel.SCORE_VECTOR,
            non_click_score=-1.0,
        )
    with pytest.raises(ValueError, match=r"reward spec of shape \[num_slots=3\]"):
        _agent(
            tensor_spec.TensorSpec([4], tf.float32),
            feedback_model=ranking_agent.FeedbackModel.SCORE_VECTOR,
        )
    with pytest.raises(ValueError, match="needs a dict reward spec with keys"):
        _agent(score_vector)
    with pytest.raises(ValueError, match="needs a positional_bias_severity"):
        _agent(CASCADING_REWARD, positional_bias_type="base")
    agent = _agent(
        CASCADING_REWARD, positional_bias_type="linear", positional_bias_severity=1.0
    )
    with pytest.raises(
        ValueError, match="non-existing bias type: 'linear'; use one of"
    ):
        agent._construct_sample_weights(
            {ranking_agent.CHOSEN_INDEX: tf.constant([1])}, {}, None
        )


def test_a_diverging_loss_is_returned_not_raised():
    # As TF-Agents: the ranking agent skips the NaN check the other agents make
    # (score vectors are on the user's scale); the loss says what happened.
    agent = _agent(
        tensor_spec.TensorSpec([3], tf.float32),
        feedback_model=ranking_agent.FeedbackModel.SCORE_VECTOR,
    )
    observation = {GLOBAL: tf.zeros([2, 2]), PER_ARM: tf.zeros([2, 3, 3])}
    reward = tf.constant([[np.nan, 0.0, 1.0], [0.0, 1.0, 0.0]])
    loss = agent.train(_experience(observation, reward)).loss
    assert np.isnan(float(loss))
