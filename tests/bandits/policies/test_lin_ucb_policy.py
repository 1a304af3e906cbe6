"""LinearUCBPolicy: optimistic choices, and a save / load round trip with PolicySaver."""

import numpy as np
import tensorflow as tf

from policylib.bandits.policies import lin_ucb_policy
from policylib.bandits.policies import linear_bandit_policy as lbp
from policylib.policies import policy_loader, policy_saver
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

F = policy_utilities.InfoFields
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 1)
TS_SPEC = ts.time_step_spec(tensor_spec.TensorSpec((2,), tf.float32))


def _policy(alpha=1.0, **kwargs):
    # Arm 0 is well known (large A) with a slightly higher mean; arm 1 is
    # barely explored, so a large alpha prefers it.
    cov = [tf.Variable(100.0 * tf.eye(2)), tf.Variable(0.1 * tf.eye(2))]
    data = [tf.Variable([101.0, 101.0]), tf.Variable([0.0, 0.0])]
    counts = [tf.Variable(100.0), tf.Variable(1.0)]
    return lin_ucb_policy.LinearUCBPolicy(
        ACTION_SPEC,
        cov,
        data,
        counts,
        TS_SPEC,
        alpha=alpha,
        emit_policy_info=(F.PREDICTED_REWARDS_MEAN, F.PREDICTED_REWARDS_OPTIMISTIC),
        **kwargs,
    )


def test_exploration_bonus_decides_between_known_and_unknown_arms():
    x = ts.restart(tf.constant([[1.0, 0.0], [0.0, 1.0]]), 2)
    greedy = _policy(alpha=0.0).action(x)
    np.testing.assert_array_equal(greedy.action, [0, 0])
    np.testing.assert_allclose(greedy.info.predicted_rewards_mean[:, 0], [1.0, 1.0])
    optimistic = _policy(alpha=2.0).action(x)
    np.testing.assert_array_equal(optimistic.action, [1, 1])
    # Arm 1: mean 0 and bonus 2 * sqrt(1 / 1.1).
    np.testing.assert_allclose(
        optimistic.info.predicted_rewards_optimistic[:, 1],
        [2.0 / np.sqrt(1.1)] * 2,
        rtol=1e-5,
    )


def test_is_a_linear_bandit_policy_with_optimistic_exploration():
    policy = _policy()
    assert isinstance(policy, lbp.LinearBanditPolicy)
    assert policy._exploration_strategy == lbp.ExplorationStrategy.optimistic


def test_policy_saver_round_trip(tmp_path):
    policy = _policy(alpha=0.5, emit_log_probability=True)
    saver = policy_saver.PolicySaver(policy, batch_size=None)
    saver.save(str(tmp_path / "policy"))
    loaded = policy_loader.load(str(tmp_path / "policy"))
    rng = np.random.default_rng(0)
    time_step = ts.restart(tf.constant(rng.normal(size=(6, 2)), tf.float32), 6)
    expected = policy.action(time_step)
    got = loaded.action(time_step)
    np.testing.assert_array_equal(got.action, expected.action)
    np.testing.assert_allclose(
        got.info.predicted_rewards_optimistic,
        expected.info.predicted_rewards_optimistic,
        rtol=1e-6,
    )
    np.testing.assert_array_equal(got.info.log_probability, np.zeros(6))
    # The model variables travel with the save: a checkpoint update reaches it.
    policy._data_vector[1].assign([50.0, 50.0])
    saver.save_checkpoint(str(tmp_path / "checkpoint"))
    reloaded = policy_loader.load(
        str(tmp_path / "policy"), checkpoint_path=str(tmp_path / "checkpoint")
    )
    updated = policy.action(time_step).action.numpy()
    assert not np.array_equal(updated, expected.action)
    np.testing.assert_array_equal(reloaded.action(time_step).action, updated)
