import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.policies import fixed_policy, greedy_policy, tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

OBS = tf.TensorSpec((2,), tf.float32)


class _Logits(tf_policy.TFPolicy):
    def __init__(self, logits):
        super().__init__(
            ts.time_step_spec(OBS), tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
        )
        self._logits = tf.constant(logits)

    def _distribution(self, time_step, policy_state):
        batch = tf.shape(time_step.observation)[0]
        logits = tf.tile(self._logits[None], [batch, 1])
        return policy_step.PolicyStep(
            tfp.distributions.Categorical(logits=logits, dtype=tf.int32), policy_state
        )


def test_greedy_policy_takes_the_mode_and_wraps_it_in_a_deterministic():
    policy = greedy_policy.GreedyPolicy(_Logits([0.0, 3.0, 1.0]))
    time_steps = ts.restart(tf.ones([4, 2]), batch_size=4)
    np.testing.assert_array_equal(
        policy.action(time_steps).action.numpy(), [1, 1, 1, 1]
    )
    dist = policy.distribution(time_steps).action
    assert isinstance(dist, tfp.distributions.Deterministic)
    assert policy.wrapped_policy.action_spec == policy.action_spec


def test_deterministic_with_log_prob_for_integers():
    dist = greedy_policy.DeterministicWithLogProb(loc=tf.constant([1, 2]))
    np.testing.assert_array_equal(
        dist.log_prob(tf.constant([1, 3])).numpy(), [0.0, -np.inf]
    )


def test_fixed_policy_tiles_nested_actions_and_emits_zero_log_probability():
    spec = (tf.TensorSpec((2,), tf.float32), {"k": tf.TensorSpec((), tf.int64)})
    policy = fixed_policy.FixedPolicy(
        (np.array([1.0, 2.0]), {"k": 7}), ts.time_step_spec(OBS), spec
    )
    step = policy.action(ts.restart(tf.ones([3, 2]), batch_size=3))
    np.testing.assert_array_equal(step.action[0].numpy(), [[1.0, 2.0]] * 3)
    assert step.action[1]["k"].dtype == tf.int64
    np.testing.assert_array_equal(step.info.log_probability[0].numpy(), [0.0, 0.0, 0.0])
    modes = tf.nest.map_structure(
        lambda d: d.mode(), policy.distribution(ts.restart(tf.ones([2]))).action
    )
    np.testing.assert_array_equal(modes[0].numpy(), [1.0, 2.0])
