"""FalconRewardPredictionPolicy: the FALCON probabilities, masks, exploration hint."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.networks import heteroscedastic_q_network
from policylib.bandits.policies import falcon_reward_prediction_policy as falcon
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.policies.fixed_reward_network import FixedRewardNetwork

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
KERNEL = [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]
BIAS = [0.5, 0.0, -1.0]
# Predictions: [1.5, 0, 5], [3.5, 7, -4], [0.5, -0.5, 0.5].
X = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]], np.float32)
REWARDS = X @ np.array(KERNEL) + BIAS
NUM_WEIGHTS = 9  # The network's 2x3 kernel and 3 biases.


def _policy(counts=(4, 2, 3), observation_spec=OBS, action_spec=ACT, **kwargs):
    net = FixedRewardNetwork(OBS, KERNEL, BIAS)
    counters = [tf.Variable(c, dtype=tf.int64) for c in counts] if counts else ()
    return falcon.FalconRewardPredictionPolicy(
        ts.time_step_spec(observation_spec),
        action_spec,
        net,
        num_samples_list=counters,
        **kwargs,
    )


def _falcon_probs(rewards, gamma, allowed):
    """The paper's probabilities, written out per row."""
    probs = np.zeros_like(rewards)
    for row, (r, ok) in enumerate(zip(rewards, allowed)):
        best = np.flatnonzero(ok)[np.argmax(r[ok])]
        for a in np.flatnonzero(ok):
            if a != best:
                probs[row, a] = 1.0 / (ok.sum() + gamma[row] * (r[best] - r[a]))
        probs[row, best] = 1.0 - probs[row].sum()
    return probs


def _probs(policy, time_step):
    return policy.distribution(time_step).action.probs_parameter().numpy()


@pytest.mark.parametrize("coefficient", [0.5, 2.0])
def test_probabilities_follow_falcon(coefficient):
    policy = _policy(exploitation_coefficient=coefficient)
    assert policy.num_trainable_elements == NUM_WEIGHTS
    gamma = np.full(3, coefficient * np.sqrt(3 * 9 / NUM_WEIGHTS))
    expected = _falcon_probs(REWARDS, gamma, np.ones((3, 3), bool))
    np.testing.assert_allclose(
        _probs(policy, ts.restart(tf.constant(X), 3)), expected, rtol=1e-5
    )


def test_masks_change_the_number_of_allowed_actions():
    policy = _policy(
        observation_spec=(OBS, tensor_spec.TensorSpec([3], tf.int32)),
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
        exploitation_coefficient=lambda: 1.5,
        emit_policy_info=(policy_utilities.InfoFields.BANDIT_POLICY_TYPE,),
    )
    mask = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], np.int32)
    time_step = ts.restart((tf.constant(X), tf.constant(mask)), 3)
    gamma = 1.5 * np.sqrt(mask.sum(1) * 9 / NUM_WEIGHTS)
    expected = _falcon_probs(REWARDS, gamma, mask == 1)
    np.testing.assert_allclose(
        _probs(policy, time_step), expected, rtol=1e-5, atol=1e-7
    )
    step = policy.action(time_step, seed=2)
    np.testing.assert_array_equal(step.action.numpy()[2], 2)
    np.testing.assert_array_equal(step.info.bandit_policy_type, [[4], [4], [4]])


def test_without_training_data_the_policy_is_uniform():
    for policy in (_policy(counts=(0, 0, 0)), _policy(counts=())):
        np.testing.assert_allclose(
            _probs(policy, ts.restart(tf.constant(X), 3)),
            np.full((3, 3), 1 / 3),
            rtol=1e-6,
        )


def test_large_gamma_is_capped():
    # A huge coefficient gives gamma = _MAX_GAMMA, not a point mass.
    policy = _policy(exploitation_coefficient=1e12)
    expected = _falcon_probs(
        REWARDS, np.full(3, falcon._MAX_GAMMA), np.ones((3, 3), bool)
    )
    np.testing.assert_allclose(
        _probs(policy, ts.restart(tf.constant(X), 3)), expected, rtol=1e-4
    )


def test_exploration_hint_picks_the_coefficient_per_context():
    time_step = ts.restart(tf.constant(X), 3)
    # A hint of 1 is met by every coefficient: the smallest (2^0) explores most.
    np.testing.assert_allclose(
        _probs(_policy(max_exploration_probability_hint=1.0), time_step),
        _probs(_policy(exploitation_coefficient=1.0), time_step),
        rtol=1e-6,
    )
    # A hint of 0 is met by none: the largest coefficient explores least.
    np.testing.assert_allclose(
        _probs(_policy(max_exploration_probability_hint=0.0), time_step),
        _probs(_policy(exploitation_coefficient=2.0**14), time_step),
        rtol=1e-6,
    )
    # In between, a row explores as much as it can within the hint; row 2,
    # whose two best arms tie, cannot stay within it and explores least.
    probs = _probs(_policy(max_exploration_probability_hint=0.2), time_step)
    exploration = 1.0 - probs[np.arange(3), REWARDS.argmax(1)]
    grid = [
        _probs(_policy(exploitation_coefficient=2.0**k), time_step) for k in range(15)
    ]
    for row in range(3):
        options = [1.0 - g[row, REWARDS[row].argmax()] for g in grid]
        within = [o for o in options if o <= 0.2]
        assert bool(within) == (row != 2)
        chosen = max(within) if within else min(options)
        assert exploration[row] == pytest.approx(chosen, rel=1e-5)


def test_number_of_trainable_elements():
    fixed = FixedRewardNetwork(OBS, KERNEL, BIAS)
    fixed.create_variables()
    assert falcon.get_number_of_trainable_elements(fixed) == NUM_WEIGHTS
    net = heteroscedastic_q_network.HeteroscedasticQNetwork(
        OBS, ACT, fc_layer_params=(4,)
    )
    net.create_variables()
    # Hidden layer 2x4 + 4, two heads of 4x3 + 3.
    assert falcon.get_number_of_trainable_elements(net) == 12 + 2 * 15


def test_num_samples_list_must_fit():
    with pytest.raises(ValueError, match="has 2 counters.*one counter per action \\(3"):
        _policy(counts=(1, 2))
    spec = bandit_spec_utils.create_per_arm_observation_spec(2, 2, 3)
    with pytest.raises(ValueError, match="has 3 counters.*one counter with per-arm"):
        falcon.FalconRewardPredictionPolicy(
            ts.time_step_spec(spec),
            ACT,
            FixedRewardNetwork(OBS, KERNEL, BIAS),
            accepts_per_arm_features=True,
            num_samples_list=[tf.Variable(1)] * 3,
        )
