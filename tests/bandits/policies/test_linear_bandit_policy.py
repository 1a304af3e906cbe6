"""LinearBanditPolicy: ridge-regression estimates, UCB / sampling choices, per-arm features."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import linear_bandit_policy as lbp
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts

F = policy_utilities.InfoFields
NUM_ACTIONS = 3
DIM = 2
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int32, 0, NUM_ACTIONS - 1)
TS_SPEC = ts.time_step_spec(tensor_spec.TensorSpec((DIM,), tf.float32))
ALL_REWARDS = (F.PREDICTED_REWARDS_MEAN, F.PREDICTED_REWARDS_OPTIMISTIC)


def _models(seed=0, dim=DIM, num_models=NUM_ACTIONS):
    rng = np.random.default_rng(seed)
    covs, datas = [], []
    for _ in range(num_models):
        x = rng.normal(size=(4, dim))
        covs.append((x.T @ x).astype(np.float32))
        datas.append(rng.normal(size=dim).astype(np.float32))
    return covs, datas


def _expected(covs, datas, x, alpha, tikhonov=1.0):
    """Numpy means and UCB scores, [batch, arms]."""
    means, bonus = [], []
    for a, b in zip(covs, datas):
        inv = np.linalg.inv(a.astype(np.float64) + tikhonov * np.eye(len(b)))
        means.append(x @ inv @ b)
        bonus.append(np.sqrt(np.einsum("bi,ij,bj->b", x, inv, x)))
    means, bonus = np.stack(means, -1), np.stack(bonus, -1)
    return means, means + alpha * bonus


def _policy(covs, datas, **kwargs):
    kwargs.setdefault("time_step_spec", TS_SPEC)
    return lbp.LinearBanditPolicy(
        ACTION_SPEC,
        [tf.constant(a) for a in covs],
        [tf.constant(b) for b in datas],
        [tf.constant(1.0)] * len(covs),
        **kwargs,
    )


def _observations(batch=5, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, DIM)).astype(np.float32)


@pytest.mark.parametrize("use_eig", [False, True])
def test_ucb_scores_and_means_match_the_closed_form(use_eig):
    covs, datas = _models()
    kwargs = {}
    if use_eig:
        eig = [np.linalg.eigh(a) for a in covs]
        kwargs = {
            "eig_vals": [tf.constant(v) for v, _ in eig],
            "eig_matrix": [tf.constant(m) for _, m in eig],
        }
    policy = _policy(
        covs,
        datas,
        alpha=0.7,
        tikhonov_weight=0.5,
        emit_policy_info=ALL_REWARDS,
        **kwargs,
    )
    x = _observations()
    step = policy.action(ts.restart(tf.constant(x), 5))
    means, scores = _expected(covs, datas, x, alpha=0.7, tikhonov=0.5)
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean, means, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        step.info.predicted_rewards_optimistic, scores, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_array_equal(step.action, scores.argmax(-1))
    assert policy.info_spec.predicted_rewards_sampled == ()


def test_given_theta_with_zero_alpha_acts_on_theta_alone():
    covs, datas = _models()
    # A theta that disagrees with A and b shows which one the policy used.
    theta = tf.constant([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    policy = _policy(
        covs,
        datas,
        alpha=0.0,
        theta=theta,
        emit_policy_info=(F.PREDICTED_REWARDS_MEAN,),
    )
    x = _observations()
    step = policy.action(ts.restart(tf.constant(x), 5))
    np.testing.assert_allclose(step.info.predicted_rewards_mean, x @ theta.numpy().T)
    np.testing.assert_array_equal(step.action, (x @ theta.numpy().T).argmax(-1))


def test_sampling_draws_around_the_mean():
    covs, datas = _models()
    x = np.tile(_observations(1), (4000, 1))
    greedy = _policy(
        covs,
        datas,
        alpha=0.0,
        exploration_strategy=lbp.ExplorationStrategy.sampling,
        emit_policy_info=(F.PREDICTED_REWARDS_MEAN, F.PREDICTED_REWARDS_SAMPLED),
    )
    step = greedy.action(ts.restart(tf.constant(x[:3]), 3))
    np.testing.assert_allclose(
        step.info.predicted_rewards_sampled, step.info.predicted_rewards_mean, rtol=1e-5
    )
    tf.random.set_seed(7)
    sampling = _policy(
        covs,
        datas,
        alpha=2.0,
        exploration_strategy=lbp.ExplorationStrategy.sampling,
        emit_policy_info=(F.PREDICTED_REWARDS_SAMPLED,),
        emit_log_probability=True,  # Ignored: a sampled argmax has no probability.
    )
    assert not sampling.emit_log_probability
    step = sampling.action(ts.restart(tf.constant(x), 4000))
    sampled = step.info.predicted_rewards_sampled.numpy()
    means, ucb = _expected(covs, datas, x[:1], alpha=2.0)
    np.testing.assert_allclose(sampled.mean(0), means[0], atol=0.15)
    np.testing.assert_allclose(sampled.std(0), ucb[0] - means[0], rtol=0.1)
    assert len(np.unique(step.action)) > 1


def test_action_mask_restricts_the_choice():
    covs, datas = _models()
    spec = ts.time_step_spec(
        (
            tensor_spec.TensorSpec((DIM,), tf.float32),
            tensor_spec.TensorSpec((3,), tf.int32),
        )
    )
    policy = _policy(
        covs,
        datas,
        time_step_spec=spec,
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
    )
    mask = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 0, 1]], np.int32)
    x = _observations(4)
    step = policy.action(ts.restart((tf.constant(x), tf.constant(mask)), 4))
    _, scores = _expected(covs, datas, x, alpha=1.0)
    expected = np.where(mask == 1, scores, -np.inf).argmax(-1)
    np.testing.assert_array_equal(step.action, expected)


def test_log_probability_of_the_deterministic_choice_is_zero():
    covs, datas = _models()
    policy = _policy(covs, datas, emit_log_probability=True)
    step = policy.action(ts.restart(tf.constant(_observations()), 5))
    np.testing.assert_array_equal(step.info.log_probability, np.zeros(5))


def test_bias_feature_and_float64_models():
    covs, datas = _models(dim=DIM + 1)
    covs = [a.astype(np.float64) for a in covs]
    datas = [b.astype(np.float64) for b in datas]
    policy = _policy(covs, datas, add_bias=True, emit_policy_info=ALL_REWARDS)
    x = _observations()
    step = policy.action(ts.restart(tf.constant(x), 5))
    x_bias = np.concatenate([x, np.ones((5, 1))], axis=1)
    means, scores = _expected(covs, datas, x_bias, alpha=1.0)
    assert step.info.predicted_rewards_mean.dtype == tf.float64
    assert policy.info_spec.predicted_rewards_mean.dtype == tf.float64
    np.testing.assert_allclose(step.info.predicted_rewards_mean, means, rtol=1e-6)
    np.testing.assert_array_equal(step.action, scores.argmax(-1))


def test_scalar_observations_are_one_feature():
    covs, datas = _models(dim=1)
    policy = _policy(
        covs,
        datas,
        time_step_spec=ts.time_step_spec(tensor_spec.TensorSpec((), tf.float32)),
        emit_policy_info=(F.PREDICTED_REWARDS_MEAN,),
    )
    x = np.array([0.5, -2.0], np.float32)
    step = policy.action(ts.restart(tf.constant(x), 2))
    means, _ = _expected(covs, datas, x[:, None], alpha=1.0)
    np.testing.assert_allclose(step.info.predicted_rewards_mean, means, rtol=1e-5)


def test_variables_are_read_at_every_call():
    covs, datas = _models()
    cov_vars = [tf.Variable(a) for a in covs]
    data_vars = [tf.Variable(b) for b in datas]
    count_vars = [tf.Variable(0.0) for _ in covs]
    policy = lbp.LinearBanditPolicy(
        ACTION_SPEC,
        cov_vars,
        data_vars,
        count_vars,
        TS_SPEC,
        emit_policy_info=(F.PREDICTED_REWARDS_MEAN,),
    )
    assert len(policy.variables()) == 3 * NUM_ACTIONS
    x = tf.constant(_observations())
    action = tf.function(policy.action, autograph=False)
    before = action(ts.restart(x, 5)).info.predicted_rewards_mean.numpy()
    data_vars[1].assign(10 * datas[1])
    after = action(ts.restart(x, 5)).info.predicted_rewards_mean.numpy()
    np.testing.assert_allclose(after[:, 1], 10 * before[:, 1], rtol=1e-4)
    np.testing.assert_allclose(after[:, [0, 2]], before[:, [0, 2]])


def _per_arm_policy(add_num_actions=True, **kwargs):
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, 3, 4, add_num_actions_feature=add_num_actions
    )
    covs, datas = _models(seed=3, dim=5, num_models=1)
    policy = lbp.LinearBanditPolicy(
        tensor_spec.BoundedTensorSpec((), tf.int64, 0, 3),
        [tf.constant(covs[0])],
        [tf.constant(datas[0])],
        [tf.constant(1.0)],
        ts.time_step_spec(obs_spec),
        accepts_per_arm_features=True,
        emit_policy_info=ALL_REWARDS,
        **kwargs,
    )
    return policy, covs[0], datas[0]


def _per_arm_observation(batch, num_actions=None, seed=2):
    rng = np.random.default_rng(seed)
    obs = {
        "global": rng.normal(size=(batch, 2)).astype(np.float32),
        "per_arm": rng.normal(size=(batch, 4, 3)).astype(np.float32),
    }
    if num_actions is not None:
        obs["num_actions"] = np.asarray(num_actions, np.int32)
    return obs


def test_per_arm_scores_use_global_and_arm_features():
    policy, cov, data = _per_arm_policy()
    obs = _per_arm_observation(3, num_actions=[4, 2, 1])
    step = policy.action(ts.restart(tf.nest.map_structure(tf.constant, obs), 3))
    contexts = np.concatenate(
        [np.repeat(obs["global"][:, None], 4, axis=1), obs["per_arm"]], axis=-1
    )
    inv = np.linalg.inv(cov.astype(np.float64) + np.eye(5))
    means = contexts @ inv @ data
    scores = means + np.sqrt(np.einsum("bai,ij,baj->ba", contexts, inv, contexts))
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean, means, rtol=1e-4, atol=1e-5
    )
    allowed = np.arange(4)[None, :] < np.array([4, 2, 1])[:, None]
    expected = np.where(allowed, scores, -np.inf).argmax(-1)
    np.testing.assert_array_equal(step.action, expected)
    assert step.action.dtype == tf.int64
    chosen = step.info.chosen_arm_features.numpy()
    np.testing.assert_array_equal(chosen, obs["per_arm"][np.arange(3), expected])
    assert policy.info_spec.chosen_arm_features.shape == (3,)


def test_per_arm_with_theta_and_no_exploration():
    theta = tf.constant([[1.0, -1.0, 0.5, 0.0, 2.0]])
    policy, _, _ = _per_arm_policy(add_num_actions=False, alpha=0.0, theta=theta)
    obs = _per_arm_observation(2)
    step = policy.action(ts.restart(tf.nest.map_structure(tf.constant, obs), 2))
    contexts = np.concatenate(
        [np.repeat(obs["global"][:, None], 4, axis=1), obs["per_arm"]], axis=-1
    )
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean, contexts @ theta.numpy()[0], rtol=1e-5
    )


def test_bad_arguments_are_named():
    covs, datas = _models()
    with pytest.raises(ValueError, match="cov_matrix must be a list"):
        lbp.LinearBanditPolicy(
            ACTION_SPEC, tf.constant(covs), datas, [1.0] * 3, TS_SPEC
        )
    with pytest.raises(ValueError, match="cov_matrix and data_vector"):
        _policy(covs, datas[:2])
    with pytest.raises(ValueError, match="one model per action"):
        _policy(covs[:2], datas[:2])
    with pytest.raises(ValueError, match="overall context dimension 3"):
        _policy(covs, datas, add_bias=True)
    with pytest.raises(ValueError, match="dtype of `theta`"):
        _policy(covs, datas, theta=tf.zeros([3, 2], tf.float64))
    with pytest.raises(ValueError, match="exploration_strategy"):
        _policy(covs, datas, exploration_strategy="ucb")
    with pytest.raises(ValueError, match="eig_matrix and eig_vals"):
        _policy(covs, datas, eig_matrix=[tf.eye(2)], eig_vals=[tf.ones(2)])
    with pytest.raises(ValueError, match="Nested"):
        lbp.LinearBanditPolicy((ACTION_SPEC,), covs, datas, [1.0] * 3, TS_SPEC)
    with pytest.raises(NotImplementedError, match="num_actions"):
        _per_arm_policy(observation_and_action_constraint_splitter=lambda o: (o, None))
    with pytest.raises(ValueError, match="per-arm features there is one model"):
        lbp.LinearBanditPolicy(
            tensor_spec.BoundedTensorSpec((), tf.int64, 0, 3),
            covs[:2],
            datas[:2],
            [1.0] * 2,
            ts.time_step_spec(
                bandit_spec_utils.create_per_arm_observation_spec(2, 3, 4)
            ),
            accepts_per_arm_features=True,
        )
    with pytest.raises(ValueError, match="dict with 'global' and 'per_arm'"):
        lbp.LinearBanditPolicy(
            ACTION_SPEC,
            covs[:1],
            datas[:1],
            [1.0],
            TS_SPEC,
            accepts_per_arm_features=True,
        )


def test_a_context_of_the_wrong_size_is_named():
    covs, datas = _models(dim=DIM + 1)
    policy = _policy(covs, datas, add_bias=True)  # Observed contexts have DIM features.
    with pytest.raises(ValueError, match=r"expected to be \[None, 2\]\. Got \[4, 3\]"):
        policy.action(ts.restart(tf.zeros([4, 3]), 4))
    per_arm, _, _ = _per_arm_policy()
    obs = _per_arm_observation(2, num_actions=[4, 4])
    obs["global"] = np.zeros((2, 5), np.float32)
    with pytest.raises(ValueError, match=r"expected to be \[None, 2\]\. Got \[2, 5\]"):
        per_arm.action(ts.restart(tf.nest.map_structure(tf.constant, obs), 2))
