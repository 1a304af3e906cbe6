"""GreedyRewardPredictionPolicy: argmax of allowed predictions, per-arm info, saving."""

import numpy as np
import tensorflow as tf

from policylib.bandits.networks import global_and_arm_feature_network
from policylib.bandits.policies import greedy_reward_prediction_policy as greedy
from policylib.policies import greedy_policy, policy_saver
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
GLOBAL = bandit_spec_utils.GLOBAL_FEATURE_KEY
PER_ARM = bandit_spec_utils.PER_ARM_FEATURE_KEY
NUM_ACTIONS = bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY


def _policy(action_spec=ACT, **kwargs):
    spec = kwargs.pop("observation_spec", OBS)
    net = FixedRewardNetwork(OBS, KERNEL, BIAS)
    return greedy.GreedyRewardPredictionPolicy(
        ts.time_step_spec(spec), action_spec, net, **kwargs
    )


def test_takes_the_best_predicted_action():
    step = _policy(
        emit_policy_info=(
            policy_utilities.InfoFields.BANDIT_POLICY_TYPE,
            policy_utilities.InfoFields.LOG_PROBABILITY,
        )
    ).action(ts.restart(tf.constant(X), 3))
    np.testing.assert_array_equal(step.action, [2, 1, 0])
    np.testing.assert_array_equal(step.info.bandit_policy_type, [[1], [1], [1]])
    np.testing.assert_array_equal(step.info.log_probability, [0.0, 0.0, 0.0])


def test_actions_are_shifted_by_the_spec_minimum():
    shifted = tensor_spec.BoundedTensorSpec((), tf.int32, 7, 9)
    action = _policy(shifted).action(ts.restart(tf.constant(X), 3)).action
    np.testing.assert_array_equal(action, [9, 8, 7])


def test_masked_actions_are_never_taken():
    policy = _policy(
        observation_spec=(OBS, tensor_spec.TensorSpec([3], tf.int32)),
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
    )
    mask = tf.constant([[1, 1, 0], [1, 0, 1], [0, 1, 0]], tf.int32)
    action = policy.action(ts.restart((tf.constant(X), mask), 3)).action
    np.testing.assert_array_equal(action, [0, 0, 1])


def _per_arm_policy():
    spec = bandit_spec_utils.create_per_arm_observation_spec(
        3, 2, 4, add_num_actions_feature=True
    )
    tf.random.set_seed(5)
    net = global_and_arm_feature_network.create_feed_forward_common_tower_network(
        spec, (5,), (5,), (4,)
    )
    return greedy.GreedyRewardPredictionPolicy(
        ts.time_step_spec(spec),
        tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
        net,
        accepts_per_arm_features=True,
        emit_policy_info=(policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,),
    )


def _per_arm_observation(batch=6):
    rng = np.random.default_rng(2)
    return {
        GLOBAL: tf.constant(rng.normal(size=(batch, 3)), tf.float32),
        PER_ARM: tf.constant(rng.normal(size=(batch, 4, 2)), tf.float32),
        NUM_ACTIONS: tf.constant([4, 3, 2, 1, 4, 2][:batch], tf.int32),
    }


def test_per_arm_greedy_respects_num_actions_and_reports_the_chosen_arm():
    policy = _per_arm_policy()
    obs = _per_arm_observation()
    step = policy.action(ts.restart(obs, 6))
    rewards = step.info.predicted_rewards_mean.numpy()
    allowed = np.arange(4)[None, :] < obs[NUM_ACTIONS].numpy()[:, None]
    np.testing.assert_array_equal(
        step.action, np.where(allowed, rewards, -np.inf).argmax(1)
    )
    np.testing.assert_array_equal(
        step.info.chosen_arm_features,
        tf.gather(obs[PER_ARM], step.action, batch_dims=1),
    )
    # The distribution is a point mass, so it carries the chosen features as
    # well, and a wrapper acting on the distribution alone reports them.
    dist_info = policy.distribution(ts.restart(obs, 6)).info
    np.testing.assert_array_equal(
        dist_info.chosen_arm_features, step.info.chosen_arm_features
    )
    wrapped = greedy_policy.GreedyPolicy(policy).action(ts.restart(obs, 6))
    np.testing.assert_array_equal(wrapped.action, step.action)
    np.testing.assert_array_equal(
        wrapped.info.chosen_arm_features, step.info.chosen_arm_features
    )


def test_per_arm_policy_saves_and_loads(tmp_path):
    policy = _per_arm_policy()
    obs = _per_arm_observation()
    expected = policy.action(ts.restart(obs, 6))
    policy_saver.PolicySaver(policy, batch_size=None).save(str(tmp_path / "policy"))
    loaded = tf.saved_model.load(str(tmp_path / "policy"))
    served = loaded.action(ts.restart(obs, 6))
    np.testing.assert_array_equal(served.action, expected.action)
    np.testing.assert_allclose(
        served.info.predicted_rewards_mean,
        expected.info.predicted_rewards_mean,
        rtol=1e-6,
    )
    np.testing.assert_array_equal(
        served.info.chosen_arm_features, expected.info.chosen_arm_features
    )
    # The saved weights are the policy's, not a fresh initialization.
    assert len(loaded.model_variables) == len(policy.variables())


def test_update_copies_the_other_policys_weights():
    source = _per_arm_policy()
    tf.random.set_seed(99)
    target = _per_arm_policy()
    for v in target.variables():
        v.assign(tf.zeros_like(v))
    obs = _per_arm_observation()
    assert not np.allclose(
        target.action(ts.restart(obs, 6)).info.predicted_rewards_mean,
        source.action(ts.restart(obs, 6)).info.predicted_rewards_mean,
    )
    target.update(source)
    np.testing.assert_allclose(
        target.action(ts.restart(obs, 6)).info.predicted_rewards_mean,
        source.action(ts.restart(obs, 6)).info.predicted_rewards_mean,
    )
