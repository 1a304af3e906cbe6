"""Constraints: feasibility of each kind, losses, masks from several sources."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.networks import global_and_arm_feature_network
from policylib.bandits.policies import constraints
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.policies.fixed_reward_network import FixedRewardNetwork

OBS = tensor_spec.TensorSpec([2], tf.float32)
TS_SPEC = ts.time_step_spec(OBS)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
KERNEL = [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]
BIAS = [0.5, 0.0, -1.0]
X = tf.constant([[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]])
# Predictions: [1.5, 0, 5], [3.5, 7, -4], [0.5, -0.5, 0.5].
PRED = X.numpy() @ np.array(KERNEL) + BIAS


def _net():
    return FixedRewardNetwork(OBS, KERNEL, BIAS)


class Fixed(constraints.BaseConstraint):
    """The same feasibility for every observation."""

    def __init__(self, probs):
        super().__init__(TS_SPEC, ACT)
        self._probs = tf.constant(probs, tf.float32)

    def __call__(self, observation, actions=None):
        return self._probs


def test_neural_constraint_allows_everything_and_trains_on_its_loss():
    constraint = constraints.NeuralConstraint(TS_SPEC, ACT, constraint_network=_net())
    np.testing.assert_array_equal(constraint(X), np.ones((3, 3)))
    actions = tf.constant([2, 0, 1])
    observed = tf.constant([4.0, 3.0, 1.0])
    taken = PRED[np.arange(3), actions.numpy()]  # [5, 3.5, -0.5]
    np.testing.assert_allclose(
        constraint.compute_loss(X, actions, observed), np.mean((taken - observed) ** 2)
    )
    weights = tf.constant([1.0, 0.0, 2.0])
    np.testing.assert_allclose(
        constraint.compute_loss(X, actions, observed, weights=weights),
        np.mean((taken - observed.numpy()) ** 2 * weights.numpy()),
    )
    # Keras 3 weights are seen too: the network's kernel and bias.
    assert len(constraint.trainable_variables) == 2
    assert constraint.initialize() is None  # Nothing to run eagerly.


def test_constraint_network_can_be_set_later():
    constraint = constraints.NeuralConstraint(TS_SPEC, ACT, constraint_network=None)
    with pytest.raises(ValueError, match="has no constraint_network yet"):
        constraint.compute_loss(X, tf.constant([0, 0, 0]), tf.zeros([3]))
    net = _net()
    constraint.constraint_network = net
    assert constraint.constraint_network is net and net.built
    assert (
        constraint.compute_loss(X, tf.constant([0, 0, 0]), tf.constant(PRED[:, 0])) == 0
    )


def test_absolute_constraint_compares_with_a_threshold():
    constraint = constraints.AbsoluteConstraint(
        TS_SPEC, ACT, _net(), comparator_fn=tf.less, absolute_value=1.0
    )
    np.testing.assert_array_equal(constraint(X), (PRED < 1.0).astype(np.float32))


def test_relative_constraint_compares_with_the_baseline_action():
    default = constraints.RelativeConstraint(TS_SPEC, ACT, _net(), margin=0.5)
    np.testing.assert_array_equal(default(X), PRED > 0.5 * PRED[:, :1])
    baseline = constraints.RelativeConstraint(
        TS_SPEC,
        ACT,
        _net(),
        comparator_fn=tf.greater_equal,
        baseline_action_fn=lambda obs: tf.constant([2, 1, 0]),
    )
    base = PRED[np.arange(3), [2, 1, 0]][:, None]
    np.testing.assert_array_equal(baseline(X), PRED >= base)
    bad = constraints.RelativeConstraint(
        TS_SPEC, ACT, _net(), baseline_action_fn=lambda obs: tf.zeros([3, 1], tf.int32)
    )
    with pytest.raises(ValueError, match=r"one action per batch entry.*\(3, 1\)"):
        bad(X)


def test_quantile_constraints_regress_a_quantile():
    quantile = constraints.QuantileConstraint(
        TS_SPEC, ACT, _net(), quantile=0.9, quantile_value=1.0
    )
    np.testing.assert_array_equal(quantile(X), PRED > 1.0)
    # The loss is the pinball loss at 0.9: under-predicting costs 9x more.
    actions = tf.constant([0, 0, 0])
    low = quantile.compute_loss(X, actions, tf.constant(PRED[:, 0] + 1.0))
    high = quantile.compute_loss(X, actions, tf.constant(PRED[:, 0] - 1.0))
    np.testing.assert_allclose([low, high], [0.9, 0.1], rtol=1e-6)
    relative = constraints.RelativeQuantileConstraint(
        TS_SPEC,
        ACT,
        _net(),
        comparator_fn=tf.less,
        baseline_action_fn=lambda obs: tf.constant([1, 1, 1]),
    )
    np.testing.assert_array_equal(relative(X), PRED < PRED[:, 1:2])
    with pytest.raises(ValueError, match=r"quantile must be in \[0, 1\]; got 1.5"):
        constraints.QuantileConstraint(TS_SPEC, ACT, _net(), quantile=1.5)


def test_input_network_constraint():
    class Positive(constraints.InputNetworkConstraint):
        def __call__(self, observation, actions=None):
            return tf.cast(self.network(observation)[0] > 0, tf.float32)

    constraint = Positive(TS_SPEC, ACT)
    assert constraint.network is None
    constraint.network = _net()
    np.testing.assert_array_equal(constraint(X), PRED > 0)
    assert constraint.compute_loss(X, tf.constant([0, 1, 2]), tf.ones([3])) == 0.0
    with pytest.raises(TypeError, match="abstract"):
        constraints.InputNetworkConstraint(TS_SPEC, ACT)


def test_feasibility_multiplies_sources():
    mask = tf.constant([[1, 0, 1], [1, 1, 1]])
    feasibility = constraints.compute_feasibility_probability(
        X[:2],
        [
            Fixed([[0.5, 1.0, 1.0], [1.0, 1.0, 0.0]]),
            Fixed([[1.0, 1.0, 0.5], [0.5, 1, 1]]),
        ],
        batch_size=2,
        num_actions=3,
        action_mask=mask,
    )
    np.testing.assert_allclose(feasibility, [[0.5, 0.0, 0.5], [0.5, 1.0, 0.0]])
    np.testing.assert_array_equal(
        constraints.compute_feasibility_probability(X, [], 3, 3), np.ones((3, 3))
    )


def test_mask_from_multiple_sources():
    # No source: no mask.
    assert constraints.construct_mask_from_multiple_sources(X, None, [], 3) is None
    # The splitter's mask, and a 0/1 constraint (its draw is certain).
    mask = constraints.construct_mask_from_multiple_sources(
        (X, tf.constant([[1, 1, 0], [0, 1, 1], [1, 1, 1]])),
        lambda obs: obs,
        [Fixed([[1, 0, 1], [1, 1, 1], [0, 0, 1]])],
        3,
    )
    np.testing.assert_array_equal(mask, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    # The num_actions feature of per-arm observations.
    spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, 2, 4, add_num_actions_feature=True
    )
    obs = {
        "global": tf.ones([2, 2]),
        "per_arm": tf.ones([2, 4, 2]),
        "num_actions": tf.constant([1, 3]),
    }
    mask = constraints.construct_mask_from_multiple_sources(obs, None, [], 4)
    np.testing.assert_array_equal(mask, [[1, 0, 0, 0], [1, 1, 1, 0]])
    # Per-arm constraints see the whole observation.
    net = global_and_arm_feature_network.create_feed_forward_common_tower_network(
        spec, (3,), (3,), (2,)
    )
    neural = constraints.NeuralConstraint(
        ts.time_step_spec(spec), tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3), net
    )
    mask = constraints.construct_mask_from_multiple_sources(obs, None, [neural], 4)
    np.testing.assert_array_equal(mask, [[1, 0, 0, 0], [1, 1, 1, 0]])


def test_bad_arguments():
    with pytest.raises(ValueError, match="must be an instance of `TimeStep`"):
        constraints.NeuralConstraint(OBS, ACT, _net())
    with pytest.raises(ValueError, match="minimum must be 0"):
        constraints.NeuralConstraint(
            TS_SPEC, tensor_spec.BoundedTensorSpec((), tf.int32, 1, 3), _net()
        )
