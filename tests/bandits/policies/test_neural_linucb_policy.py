"""NeuralLinUCBPolicy: LinUCB bounds on the encodings (per arm, or one shared model
with per-arm features), epsilon-greedy on the reward layer, a switch between them
read at every call, masks, and construction errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import neural_linucb_policy as nlp
from policylib.networks import network
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

DIM = 3
OBS = tensor_spec.TensorSpec([DIM], tf.float32)
RNG = np.random.default_rng(3)
X = RNG.normal(size=(6, DIM)).astype(np.float32)


class Identity(network.Network):
    """Encodes an observation as itself (or a per-arm observation as its arm features)."""

    def __init__(self, spec, per_arm=False):
        super().__init__(spec, state_spec=(), name="Identity")
        self._per_arm = per_arm

    def call(self, observation, step_type=None, network_state=(), training=False):
        if self._per_arm:
            observation = observation[bandit_spec_utils.PER_ARM_FEATURE_KEY]
        return tf.cast(observation, tf.float32), network_state


def _reward_layer(units, kernel):
    return tf.keras.layers.Dense(
        units, use_bias=False, kernel_initializer=tf.constant_initializer(kernel)
    )


def _linucb_stats(num_models):
    a = []
    b = []
    for k in range(num_models):
        m = RNG.normal(size=(DIM, DIM))
        a.append(tf.constant(m @ m.T + k * np.eye(DIM), tf.float64))
        b.append(tf.constant(RNG.normal(size=DIM), tf.float64))
    return a, b


def _expected_bounds(a, b, x, alpha):
    inv = np.linalg.inv(a.numpy() + np.eye(DIM))
    mean = x @ inv @ b.numpy()
    width = np.sqrt(np.einsum("ni,ij,nj->n", x, inv, x))
    return mean, mean + alpha * width


def _policy(actions_from_reward_layer, epsilon=0.0, **kwargs):
    a, b = _linucb_stats(4)
    kernel = RNG.normal(size=(DIM, 4)).astype(np.float32)
    policy = nlp.NeuralLinUCBPolicy(
        encoding_network=kwargs.pop("encoder", Identity(OBS)),
        encoding_dim=DIM,
        reward_layer=_reward_layer(4, kernel),
        epsilon_greedy=epsilon,
        actions_from_reward_layer=actions_from_reward_layer,
        cov_matrix=a,
        data_vector=b,
        num_samples=[tf.Variable(1.0, dtype=tf.float64) for _ in range(4)],
        time_step_spec=kwargs.pop("time_step_spec", ts.time_step_spec(OBS)),
        alpha=2.0,
        emit_policy_info=("predicted_rewards_mean", "predicted_rewards_optimistic"),
        **kwargs,
    )
    return policy, a, b, kernel


def test_linucb_bounds_and_argmax_match_numpy():
    policy, a, b, _ = _policy(False)
    step = policy.action(ts.restart(tf.constant(X), 6))
    bounds = [_expected_bounds(a[k], b[k], X, 2.0) for k in range(4)]
    mean = np.stack([m for m, _ in bounds], axis=1)
    optimistic = np.stack([o for _, o in bounds], axis=1)
    assert step.info.predicted_rewards_mean.dtype == tf.float32
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean.numpy(), mean, rtol=1e-4
    )
    np.testing.assert_allclose(
        step.info.predicted_rewards_optimistic.numpy(), optimistic, rtol=1e-4
    )
    np.testing.assert_array_equal(step.action.numpy(), optimistic.argmax(axis=1))


def test_switch_variable_is_read_at_every_call():
    switch = tf.Variable(True)
    policy, _, _, kernel = _policy(switch)
    time_step = ts.restart(tf.constant(X), 6)
    greedy = policy.action(time_step)
    np.testing.assert_allclose(
        greedy.info.predicted_rewards_mean.numpy(), X @ kernel, rtol=1e-5
    )
    np.testing.assert_array_equal(greedy.action.numpy(), (X @ kernel).argmax(axis=1))
    switch.assign(False)
    linucb = policy.action(time_step)
    assert not np.allclose(linucb.info.predicted_rewards_mean.numpy(), X @ kernel)
    # Traced once, the tf.cond still follows the variable.
    traced = tf.function(policy.action, autograph=False)
    np.testing.assert_array_equal(
        traced(time_step).action.numpy(), linucb.action.numpy()
    )
    switch.assign(True)
    np.testing.assert_array_equal(
        traced(time_step).action.numpy(), greedy.action.numpy()
    )
    assert any(v is switch for v in policy.variables())


def test_epsilon_greedy_explores_among_allowed_arms_with_exact_log_probabilities():
    spec = ts.time_step_spec((OBS, tensor_spec.TensorSpec([4], tf.int32)))
    policy, _, _, kernel = _policy(
        True,
        epsilon=0.5,
        time_step_spec=spec,
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
        emit_log_probability=True,
    )
    x = np.tile(X[:1], (3000, 1))
    mask = np.tile(np.array([[1, 1, 0, 1]], np.int32), (3000, 1))
    step = policy.action(ts.restart((tf.constant(x), tf.constant(mask)), 3000), seed=4)
    predicted = np.where(mask[0] == 1, x[0] @ kernel, -np.inf)
    greedy = int(np.argmax(predicted))
    actions = step.action.numpy()
    assert not np.any(actions == 2)
    expected = np.full(4, 0.5 / 3)
    expected[2] = 0.0
    expected[greedy] += 0.5
    np.testing.assert_allclose(
        np.bincount(actions, minlength=4) / 3000, expected, atol=0.03
    )
    np.testing.assert_allclose(
        policy_step.get_log_probability(step.info).numpy(),
        np.log(expected[actions]),
        rtol=1e-5,
    )


def test_per_arm_shared_model_and_num_actions_feature():
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, DIM, 4, add_num_actions_feature=True
    )
    a, b = _linucb_stats(1)
    policy = nlp.NeuralLinUCBPolicy(
        encoding_network=Identity(obs_spec, per_arm=True),
        encoding_dim=DIM,
        reward_layer=_reward_layer(1, np.ones((DIM, 1))),
        epsilon_greedy=0.0,
        actions_from_reward_layer=tf.constant(False),
        cov_matrix=a,
        data_vector=b,
        num_samples=[tf.Variable(0.0, dtype=tf.float64)],
        time_step_spec=ts.time_step_spec(obs_spec),
        alpha=1.0,
        emit_policy_info=("predicted_rewards_mean",),
        accepts_per_arm_features=True,
    )
    arms = RNG.normal(size=(5, 4, DIM)).astype(np.float32)
    observation = {
        bandit_spec_utils.GLOBAL_FEATURE_KEY: tf.zeros([5, 2]),
        bandit_spec_utils.PER_ARM_FEATURE_KEY: tf.constant(arms),
        bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY: tf.constant([4, 4, 2, 1, 3]),
    }
    step = policy.action(ts.restart(observation, 5))
    mean, optimistic = _expected_bounds(a[0], b[0], arms.reshape(-1, DIM), 1.0)
    mean, optimistic = mean.reshape(5, 4), optimistic.reshape(5, 4)
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean.numpy(), mean, rtol=1e-4
    )
    allowed = np.arange(4)[None] < np.array([4, 4, 2, 1, 3])[:, None]
    expected = np.where(allowed, optimistic, -np.inf).argmax(axis=1)
    np.testing.assert_array_equal(step.action.numpy(), expected)
    assert isinstance(step.info, policy_utilities.PerArmPolicyInfo)
    np.testing.assert_allclose(
        step.info.chosen_arm_features.numpy(), arms[np.arange(5), expected]
    )
    with pytest.raises(NotImplementedError):
        policy.distribution(ts.restart(observation, 5))


def test_construction_errors():
    a, b = _linucb_stats(2)
    common = dict(
        encoding_network=Identity(OBS),
        encoding_dim=DIM,
        reward_layer=_reward_layer(2, np.ones((DIM, 2))),
        epsilon_greedy=0.0,
        actions_from_reward_layer=False,
        time_step_spec=ts.time_step_spec(OBS),
    )
    ones = [tf.constant(1.0)] * 2
    with pytest.raises(ValueError, match="cov_matrix must be a list"):
        nlp.NeuralLinUCBPolicy(
            cov_matrix=a[0], data_vector=b, num_samples=ones, **common
        )
    with pytest.raises(ValueError, match="Got 2 for cov_matrix and 1 for data_vector"):
        nlp.NeuralLinUCBPolicy(
            cov_matrix=a, data_vector=b[:1], num_samples=ones, **common
        )
    with pytest.raises(ValueError, match="Got 1 for num_samples and 2 for cov_matrix"):
        nlp.NeuralLinUCBPolicy(
            cov_matrix=a, data_vector=b, num_samples=ones[:1], **common
        )
    with pytest.raises(
        ValueError, match="encoding dimension 3. Got 2 for `cov_matrix`"
    ):
        nlp.NeuralLinUCBPolicy(
            cov_matrix=[tf.eye(2)] * 2, data_vector=b, num_samples=ones, **common
        )
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(2, DIM, 4)
    per_arm = dict(common, encoding_network=Identity(obs_spec, per_arm=True))
    per_arm["time_step_spec"] = ts.time_step_spec(obs_spec)
    with pytest.raises(ValueError, match="reward layer must be 1, got 2"):
        nlp.NeuralLinUCBPolicy(
            cov_matrix=a[:1],
            data_vector=b[:1],
            num_samples=ones[:1],
            accepts_per_arm_features=True,
            **per_arm,
        )
    with pytest.raises(NotImplementedError, match="not supported with per-arm"):
        nlp.NeuralLinUCBPolicy(
            cov_matrix=a[:1],
            data_vector=b[:1],
            num_samples=ones[:1],
            accepts_per_arm_features=True,
            observation_and_action_constraint_splitter=lambda o: (o, None),
            **per_arm,
        )
