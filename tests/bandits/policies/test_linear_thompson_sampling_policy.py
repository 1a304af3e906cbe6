"""LinearThompsonSamplingPolicy: each arm is chosen about as often as its draw wins."""

import math

import numpy as np
import tensorflow as tf

from policylib.bandits.policies import linear_thompson_sampling_policy as lts
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 1)
TS_SPEC = ts.time_step_spec(tensor_spec.TensorSpec((1,), tf.float32))


def test_choice_frequencies_follow_the_posterior():
    # Arm 0: mean 1/(1+1) * 1 = 0.5, variance 0.5; arm 1: mean 0, variance 1.
    policy = lts.LinearThompsonSamplingPolicy(
        ACTION_SPEC,
        [tf.constant([[1.0]]), tf.constant([[0.0]])],
        [tf.constant([1.0]), tf.constant([0.0])],
        [tf.constant(1.0), tf.constant(0.0)],
        TS_SPEC,
        alpha=1.0,
        emit_policy_info=(policy_utilities.InfoFields.PREDICTED_REWARDS_SAMPLED,),
    )
    assert not policy.emit_log_probability
    tf.random.set_seed(11)
    n = 20000
    step = policy.action(ts.restart(tf.ones([n, 1]), n))
    # P(N(0.5, 0.5) > N(0, 1)) = Phi(0.5 / sqrt(1.5)).
    expected = 0.5 * (1.0 + math.erf(0.5 / math.sqrt(1.5) / math.sqrt(2.0)))
    assert abs(np.mean(step.action.numpy() == 0) - expected) < 0.015
    sampled = step.info.predicted_rewards_sampled.numpy()
    np.testing.assert_allclose(sampled.mean(0), [0.5, 0.0], atol=0.03)
    np.testing.assert_allclose(sampled.var(0), [0.5, 1.0], rtol=0.05)
    np.testing.assert_array_equal(step.action, sampled.argmax(-1))
