"""Ranking policies: slates of distinct, available items; samplers' probabilities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import ranking_policy
from policylib.networks import network
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts

GLOBAL, PER_ARM, NUM = (
    bandit_spec_utils.GLOBAL_FEATURE_KEY,
    bandit_spec_utils.PER_ARM_FEATURE_KEY,
    bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY,
)


class FirstFeatureScores(network.Network):
    """Scores each item by its first feature: tests know the scores exactly."""

    def __init__(self, observation_spec):
        super().__init__(observation_spec, state_spec=(), name="FirstFeatureScores")

    def call(self, observation, step_type=None, network_state=()):
        return observation[PER_ARM][..., 0], network_state


def _policy(cls, num_items=6, num_slots=3, num_actions=False, **kwargs):
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, 3, num_items, add_num_actions_feature=num_actions
    )
    return cls(
        num_items=num_items,
        num_slots=num_slots,
        time_step_spec=ts.time_step_spec(obs_spec),
        network=FirstFeatureScores(obs_spec),
        **kwargs,
    )


def _step(items: np.ndarray, num_actions=None) -> ts.TimeStep:
    items = np.asarray(items, np.float32)
    observation = {
        GLOBAL: np.zeros([items.shape[0], 2], np.float32),
        PER_ARM: items,
    }
    if num_actions is not None:
        observation[NUM] = np.asarray(num_actions, np.int32)
    return ts.restart(
        tf.nest.map_structure(tf.constant, observation), batch_size=items.shape[0]
    )


def _items(scores: list[list[float]]) -> np.ndarray:
    """Per-arm features whose first column is `scores` (the rest random)."""
    rng = np.random.default_rng(0)
    scores = np.asarray(scores, np.float32)
    rest = rng.normal(size=scores.shape + (2,)).astype(np.float32)
    return np.concatenate([scores[..., None], rest], axis=-1)


def test_descending_scores_ranks_the_best_items_first_and_reports_all_scores():
    policy = _policy(ranking_policy.DescendingScoreRankingPolicy)
    scores = [[0.1, 0.9, 0.3, 0.7, 0.5, 0.2], [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]]
    step = policy.action(_step(_items(scores)))
    np.testing.assert_array_equal(step.action, [[1, 3, 4], [0, 1, 2]])
    np.testing.assert_allclose(step.info.predicted_rewards_mean, scores)
    assert policy.action_spec.shape == (3,)
    assert policy.info_spec.predicted_rewards_mean.shape == (6,)


@pytest.mark.parametrize(
    "cls",
    [
        ranking_policy.NoPenaltyRankingPolicy,
        ranking_policy.PenalizeCosineDistanceRankingPolicy,
    ],
)
def test_sampled_slates_hold_distinct_available_items(cls):
    tf.random.set_seed(0)
    policy = _policy(cls, num_items=8, num_slots=4, num_actions=True)
    items = _items(np.zeros([16, 8]))  # Equal scores: any order is possible.
    num_actions = np.array([4, 5, 8, 6] * 4)
    for _ in range(5):
        slates = policy.action(_step(items, num_actions)).action.numpy()
        for slate, available in zip(slates, num_actions):
            assert len(set(slate)) == 4, slate
            assert slate.max() < available, (slate, available)


def test_low_temperature_follows_the_scores_and_high_temperature_spreads():
    tf.random.set_seed(1)
    scores = [[0.0, 1.0, 0.5, -1.0, 0.2, 0.1]] * 64
    firsts = {}
    for temperature in (0.01, 100.0):
        policy = _policy(
            ranking_policy.NoPenaltyRankingPolicy, logits_temperature=temperature
        )
        firsts[temperature] = policy.action(_step(_items(scores))).action[:, 0].numpy()
    assert set(firsts[0.01]) == {1}
    assert len(set(firsts[100.0])) >= 4


def test_cosine_penalty_keeps_a_near_duplicate_out_of_the_slate():
    # Items 0 and 1 point nearly the same way (scores 1.0, 0.9); item 2 scores
    # 0.8 and differs. At temperature 0.01 the logits are 100, 90, 80: without a
    # penalty the slate is (0, 1); with a large one the second slot avoids 0's
    # near-duplicate.
    items = np.array(
        [[[1.0, 1.0, 0.0], [0.9, 1.0, 0.0], [0.8, -1.0, 0.0], [-5.0, 0.0, 1.0]]],
        np.float32,
    )
    items = np.repeat(items, 32, axis=0)
    tf.random.set_seed(2)
    seconds = {}
    for coefficient in (0.0, 50.0):
        policy = _policy(
            ranking_policy.PenalizeCosineDistanceRankingPolicy,
            num_items=4,
            num_slots=2,
            penalty_mixture_coefficient=coefficient,
            logits_temperature=0.01,
        )
        slates = policy.action(_step(items)).action.numpy()
        assert set(slates[:, 0]) == {0}
        seconds[coefficient] = set(slates[:, 1])
    assert seconds[0.0] == {1}
    assert seconds[50.0] == {2}


@pytest.mark.parametrize(
    "sampler",
    [ranking_policy.NoPenaltyPlackettLuce, ranking_policy.CosinePenalizedPlackettLuce],
)
def test_slate_probabilities_sum_to_one_and_match_sampling(sampler):
    features = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.2]], np.float32)
    logits = np.array([0.5, 0.1, -0.3, 0.2], np.float32)

    def batch_of(rows: int):
        return sampler(
            tf.constant(np.repeat(features[None], rows, 0)),
            2,
            tf.constant(np.repeat(logits[None], rows, 0)),
            0.7,
        )

    slates = list(itertools.permutations(range(4), 2))
    probs = np.exp(batch_of(len(slates)).log_prob(tf.constant(slates)).numpy())
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    draws = 4000
    sample = batch_of(draws).sample(seed=7).numpy().reshape(draws, 2)
    observed = np.array([np.all(sample == s, axis=1).mean() for s in slates])
    np.testing.assert_allclose(observed, probs, atol=0.03)


def test_a_huge_logit_does_not_overflow_the_scores():
    distribution = ranking_policy.NoPenaltyPlackettLuce(
        None, 2, tf.constant([[1e4, 0.0, 5e3]]), 1.0
    )
    np.testing.assert_array_equal(distribution.sample(seed=3), [[0, 2]])


def test_bad_sizes_and_observations_are_named():
    with pytest.raises(
        ValueError, match=r"num_slots must be between 1 and num_items \(3\); got 4"
    ):
        _policy(ranking_policy.NoPenaltyRankingPolicy, num_items=3, num_slots=4)
    with pytest.raises(ValueError, match="logits_temperature must be positive"):
        _policy(ranking_policy.NoPenaltyRankingPolicy, logits_temperature=0.0)
    plain = ts.time_step_spec(tensor_spec.TensorSpec([3], tf.float32))
    with pytest.raises(ValueError, match="needs a per-arm observation spec"):
        ranking_policy.DescendingScoreRankingPolicy(
            4, 2, plain, FirstFeatureScores(plain.observation)
        )
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(2, 3, 5)
    with pytest.raises(ValueError, match=r"\[num_items=6, feature_dim\]"):
        ranking_policy.DescendingScoreRankingPolicy(
            6, 2, ts.time_step_spec(obs_spec), FirstFeatureScores(obs_spec)
        )
    policy = _policy(ranking_policy.DescendingScoreRankingPolicy)
    with pytest.raises((ValueError, TypeError), match="per_arm"):
        policy.action(_step(_items(np.zeros([2, 5]))))  # 5 items, spec has 6.
