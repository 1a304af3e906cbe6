"""BoltzmannRewardPredictionPolicy: softmax probabilities, masks, Boltzmann-Gumbel."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import boltzmann_reward_prediction_policy as boltzmann
from policylib.distributions import shifted_categorical
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.policies.fixed_reward_network import FixedRewardNetwork

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
KERNEL = [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]
BIAS = [0.5, 0.0, -1.0]
X = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]], np.float32)
REWARDS = X @ np.array(KERNEL) + BIAS


def _policy(action_spec=ACT, observation_spec=OBS, **kwargs):
    net = FixedRewardNetwork(OBS, KERNEL, BIAS)
    return boltzmann.BoltzmannRewardPredictionPolicy(
        ts.time_step_spec(observation_spec), action_spec, net, **kwargs
    )


def _softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _counters(*counts):
    return [tf.Variable(c, dtype=tf.int32) for c in counts]


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_probabilities_are_the_softmax_of_rewards_over_temperature(temperature):
    dist = _policy(temperature=temperature).distribution(ts.restart(tf.constant(X), 3))
    np.testing.assert_allclose(
        dist.action.probs_parameter(), _softmax(REWARDS / temperature), rtol=1e-5
    )


def test_temperature_may_be_a_schedule_read_at_every_step():
    temperature = tf.Variable(1.0)
    policy = _policy(temperature=lambda: temperature)
    time_step = ts.restart(tf.constant(X), 3)
    np.testing.assert_allclose(
        policy.distribution(time_step).action.probs_parameter(),
        _softmax(REWARDS),
        rtol=1e-5,
    )
    temperature.assign(0.0)  # Greedy in the limit.
    np.testing.assert_array_equal(policy.action(time_step).action, REWARDS.argmax(1))


def test_masked_actions_get_no_probability():
    policy = _policy(
        observation_spec=(OBS, tensor_spec.TensorSpec([3], tf.int32)),
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
        emit_policy_info=(policy_utilities.InfoFields.BANDIT_POLICY_TYPE,),
    )
    mask = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 1]], np.int32)
    time_step = ts.restart((tf.constant(X), tf.constant(mask)), 3)
    probs = policy.distribution(time_step).action.probs_parameter().numpy()
    expected = _softmax(np.where(mask == 1, REWARDS, -np.inf))
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-7)
    step = policy.action(time_step, seed=4)
    assert np.all(mask[np.arange(3), step.action.numpy()] == 1)
    np.testing.assert_array_equal(step.info.bandit_policy_type, [[3], [3], [3]])


def test_shifted_action_spec_samples_shifted_actions():
    shifted = tensor_spec.BoundedTensorSpec((), tf.int32, 4, 6)
    policy = _policy(shifted, temperature=1e-3)
    dist = policy.distribution(ts.restart(tf.constant(X), 3)).action
    assert isinstance(dist, shifted_categorical.ShiftedCategorical)
    np.testing.assert_array_equal(
        policy.action(ts.restart(tf.constant(X), 3)).action, REWARDS.argmax(1) + 4
    )


def test_boltzmann_gumbel_explores_rarely_tried_arms():
    # X[0]'s rewards are [1.5, 0, 5]: arm 2 is best, but arm 1 was never
    # tried much, so Gumbel noise of scale 20 / sqrt(1) makes it win often.
    policy = _policy(
        boltzmann_gumbel_exploration_constant=20.0,
        num_samples_list=_counters(10**9, 1, 10**9),
    )
    actions = policy.action(
        ts.restart(tf.constant(np.repeat(X[:1], 2000, 0)), 2000)
    ).action
    counts = np.bincount(actions.numpy(), minlength=3)
    assert counts[1] > counts[0] and counts[1] > 0.45 * 2000  # P(arm 1) = 0.54
    # Many samples of every arm leave no exploration: greedy.
    greedy = _policy(
        boltzmann_gumbel_exploration_constant=20.0,
        num_samples_list=_counters(10**9, 10**9, 10**9),
    )
    np.testing.assert_array_equal(
        greedy.action(ts.restart(tf.constant(X), 3)).action, REWARDS.argmax(1)
    )


def test_boltzmann_gumbel_refusals():
    counters = _counters(1, 1, 1)
    with pytest.raises(ValueError, match="must be positive; got 0.0"):
        _policy(boltzmann_gumbel_exploration_constant=0.0, num_samples_list=counters)
    with pytest.raises(ValueError, match="has 2 counters, but there are 3 actions"):
        _policy(
            boltzmann_gumbel_exploration_constant=1.0, num_samples_list=counters[:2]
        )
    with pytest.raises(NotImplementedError, match="minimum 0; got minimum 1"):
        _policy(
            tensor_spec.BoundedTensorSpec((), tf.int32, 1, 3),
            boltzmann_gumbel_exploration_constant=1.0,
            num_samples_list=counters,
        )
    spec = bandit_spec_utils.create_per_arm_observation_spec(2, 2, 3)
    with pytest.raises(NotImplementedError, match="per-arm features"):
        boltzmann.BoltzmannRewardPredictionPolicy(
            ts.time_step_spec(spec),
            ACT,
            FixedRewardNetwork(OBS, KERNEL, BIAS),
            boltzmann_gumbel_exploration_constant=1.0,
            accepts_per_arm_features=True,
            num_samples_list=counters,
        )
