"""RewardPredictionBasePolicy: predictions, masks from every source, info, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.networks import (
    global_and_arm_feature_network,
    heteroscedastic_q_network,
)
from policylib.bandits.policies import constraints, reward_prediction_base_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.policies.fixed_reward_network import FixedRewardNetwork

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
KERNEL = [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]
BIAS = [0.5, 0.0, -1.0]
X = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]], np.float32)
PER_ARM = bandit_spec_utils.PER_ARM_FEATURE_KEY
GLOBAL = bandit_spec_utils.GLOBAL_FEATURE_KEY


class UniformOverAllowed(reward_prediction_base_policy.RewardPredictionBasePolicy):
    """Uniform over the allowed actions: its distribution shows the mask."""

    def _action_distribution(self, mask, predicted_rewards):
        if mask is None:
            mask = tf.ones_like(predicted_rewards)
        probs = tf.cast(mask, tf.float32)
        probs /= tf.reduce_sum(probs, axis=-1, keepdims=True)
        policy_type = tf.fill(
            [tf.shape(predicted_rewards)[0], 1],
            policy_utilities.BanditPolicyType.UNIFORM,
        )
        return tfp.distributions.Categorical(probs=probs, dtype=tf.int32), policy_type


def _net(spec=OBS):
    return FixedRewardNetwork(spec, KERNEL, BIAS)


def _probs(policy, time_step):
    return policy.distribution(time_step).action.probs_parameter().numpy()


def test_info_holds_predictions_and_policy_type_on_request():
    policy = UniformOverAllowed(
        ts.time_step_spec(OBS),
        ACT,
        _net(),
        emit_policy_info=(
            policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,
            policy_utilities.InfoFields.BANDIT_POLICY_TYPE,
            policy_utilities.InfoFields.LOG_PROBABILITY,
        ),
    )
    assert policy.info_spec.predicted_rewards_mean.shape == (3,)
    assert policy.info_spec.bandit_policy_type.shape == (1,)
    step = policy.action(ts.restart(tf.constant(X), 3), seed=1)
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean, X @ np.array(KERNEL) + BIAS, rtol=1e-6
    )
    np.testing.assert_array_equal(step.info.bandit_policy_type, [[2], [2], [2]])
    np.testing.assert_allclose(
        step.info.log_probability, np.log([1 / 3] * 3), rtol=1e-6
    )
    plain = UniformOverAllowed(ts.time_step_spec(OBS), ACT, _net())
    assert plain.info_spec == policy_utilities.PolicyInfo()
    assert (
        plain.action(ts.restart(tf.constant(X), 3)).info
        == policy_utilities.PolicyInfo()
    )


def test_mask_from_the_splitter():
    spec = (OBS, tensor_spec.TensorSpec([3], tf.int32))
    policy = UniformOverAllowed(
        ts.time_step_spec(spec),
        ACT,
        _net(),
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
    )
    mask = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 1]], np.int32)
    probs = _probs(policy, ts.restart((tf.constant(X), tf.constant(mask)), 3))
    np.testing.assert_allclose(probs, mask / mask.sum(1, keepdims=True))


def test_mask_from_the_num_actions_feature():
    spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, 3, 4, add_num_actions_feature=True
    )
    net = global_and_arm_feature_network.create_feed_forward_common_tower_network(
        spec, (3,), (3,), (2,)
    )
    policy = UniformOverAllowed(
        ts.time_step_spec(spec),
        tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
        net,
        accepts_per_arm_features=True,
    )
    obs = {
        GLOBAL: tf.ones([2, 2]),
        PER_ARM: tf.ones([2, 4, 3]),
        bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY: tf.constant([1, 3]),
    }
    probs = _probs(policy, ts.restart(obs, 2))
    np.testing.assert_allclose(probs, [[1, 0, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0]])


def test_mask_from_constraints_and_splitter_combined():
    # Feasible where the constraint network predicts at most 1: action 0 for X[0].
    constraint = constraints.AbsoluteConstraint(
        ts.time_step_spec(OBS),
        ACT,
        constraint_network=_net(),
        comparator_fn=tf.less_equal,
        absolute_value=1.0,
    )
    spec = (OBS, tensor_spec.TensorSpec([3], tf.int32))
    policy = UniformOverAllowed(
        ts.time_step_spec(spec),
        ACT,
        _net(),
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
        constraints=[constraint],
    )
    # Predictions: [1.5, 0, 5], [3.5, 7, -4], [0.5, -0.5, 0.5].
    mask = np.array([[1, 1, 1], [1, 1, 1], [0, 1, 1]], np.int32)
    probs = _probs(policy, ts.restart((tf.constant(X), tf.constant(mask)), 3))
    np.testing.assert_allclose(probs, [[0, 1, 0], [0, 0, 1], [0, 0.5, 0.5]])
    # The constraint's network weights belong to the policy.
    assert len(policy.variables()) == 4


def test_chosen_arm_features_are_those_of_the_drawn_action():
    spec = bandit_spec_utils.create_per_arm_observation_spec(2, 3, 4)
    net = global_and_arm_feature_network.create_feed_forward_dot_product_network(
        spec, (3,), (3,)
    )
    policy = UniformOverAllowed(
        ts.time_step_spec(spec),
        tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
        net,
        accepts_per_arm_features=True,
    )
    assert policy.accepts_per_arm_features
    assert policy.info_spec.chosen_arm_features.shape == (3,)
    arms = tf.reshape(tf.range(5 * 4 * 3, dtype=tf.float32), [5, 4, 3])
    step = policy.action(
        ts.restart({GLOBAL: tf.ones([5, 2]), PER_ARM: arms}, 5), seed=3
    )
    expected = tf.gather(arms, step.action, batch_dims=1)
    np.testing.assert_array_equal(step.info.chosen_arm_features, expected)
    # The distribution does not know the action yet: zeros of the right shape.
    info = policy.distribution(
        ts.restart({GLOBAL: tf.ones([5, 2]), PER_ARM: arms}, 5)
    ).info
    np.testing.assert_array_equal(info.chosen_arm_features, np.zeros([5, 3]))


def test_heteroscedastic_networks_act_on_their_rewards():
    net = heteroscedastic_q_network.HeteroscedasticQNetwork(
        OBS, ACT, fc_layer_params=(4,)
    )
    policy = UniformOverAllowed(
        ts.time_step_spec(OBS),
        ACT,
        net,
        emit_policy_info=(policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,),
    )
    step = policy.action(ts.restart(tf.constant(X), 3))
    np.testing.assert_allclose(
        step.info.predicted_rewards_mean, net(tf.constant(X))[0].q_value_logits
    )


def test_acts_inside_tf_function():
    policy = UniformOverAllowed(ts.time_step_spec(OBS), ACT, _net())
    action = tf.function(policy.action)(ts.restart(tf.constant(X), 3), seed=2).action
    assert action.shape == (3,) and action.dtype == tf.int32


def test_a_bare_field_name_is_one_field():
    # TF-Agents' example scripts pass one name, not a tuple.
    policy = UniformOverAllowed(
        ts.time_step_spec(OBS), ACT, _net(), emit_policy_info="predicted_rewards_mean"
    )
    info = policy.action(ts.restart(tf.constant(X), 3)).info
    assert info.predicted_rewards_mean.shape == (3, 3)


def test_bad_arguments():
    tss = ts.time_step_spec(OBS)
    with pytest.raises(NotImplementedError, match="single BoundedTensorSpec; got 2"):
        UniformOverAllowed(tss, [ACT, ACT], _net())
    with pytest.raises(NotImplementedError, match="BoundedTensorSpec of type int32"):
        UniformOverAllowed(
            tss, tensor_spec.BoundedTensorSpec((), tf.float32, 0, 2), _net()
        )
    with pytest.raises(NotImplementedError, match="BoundedTensorSpec of type int32"):
        UniformOverAllowed(
            tss, tensor_spec.BoundedTensorSpec((2,), tf.int32, 0, 2), _net()
        )
    with pytest.raises(ValueError, match=r"unknown fields \['predicted_reward'\]"):
        UniformOverAllowed(tss, ACT, _net(), emit_policy_info="predicted_reward")
    with pytest.raises(ValueError, match=r"unknown fields \['predicted_reward'\]"):
        UniformOverAllowed(tss, ACT, _net(), emit_policy_info=("predicted_reward",))
    spec = bandit_spec_utils.create_per_arm_observation_spec(2, 3, 3)
    with pytest.raises(NotImplementedError, match="not supported with per-arm"):
        UniformOverAllowed(
            ts.time_step_spec(spec),
            ACT,
            _net(),
            accepts_per_arm_features=True,
            observation_and_action_constraint_splitter=lambda o: (o, None),
        )
    # The network's width is checked when it runs.
    policy = UniformOverAllowed(
        tss, tensor_spec.BoundedTensorSpec((), tf.int32, 0, 4), _net()
    )
    with pytest.raises(
        ValueError, match=r"number of actions \(5\) does not match .* output size \(3\)"
    ):
        policy.action(ts.restart(tf.constant(X), 3))
