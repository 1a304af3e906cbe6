"""BernoulliThompsonSamplingPolicy: plays the arm of the largest posterior draw,
respects masks, reports means and draws on request, and rejects bad specs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import bernoulli_thompson_sampling_policy as bts
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
TS_SPEC = ts.time_step_spec(tensor_spec.TensorSpec([], tf.float32))


def _params(values, dtype=tf.float32):
    return [tf.Variable(v, dtype=dtype) for v in values]


def test_play_frequencies_follow_the_posteriors():
    # Arm 0 ~ Beta(30, 10) (mean 0.75) dominates arm 1 ~ Beta(10, 30) (0.25); arm 2
    # ~ Beta(1, 1) wins only when its uniform draw beats arm 0's.
    policy = bts.BernoulliThompsonSamplingPolicy(
        TS_SPEC, ACT, _params([30.0, 10.0, 1.0]), _params([10.0, 30.0, 1.0])
    )
    step = policy.action(ts.restart(tf.zeros([4000]), 4000), seed=11)
    freq = np.bincount(step.action.numpy(), minlength=3) / 4000
    # P(U > X) with X ~ Beta(30, 10) is E[1 - X] = 0.25.
    np.testing.assert_allclose(freq, [0.75, 0.0, 0.25], atol=0.03)


def test_info_holds_means_and_the_draws_that_were_maximized():
    policy = bts.BernoulliThompsonSamplingPolicy(
        TS_SPEC,
        ACT,
        _params([1.0, 3.0, 2.0], tf.float64),
        _params([3.0, 1.0, 2.0], tf.float64),
        emit_policy_info=(
            "predicted_rewards_mean",
            "predicted_rewards_sampled",
            "log_probability",
        ),
    )
    step = policy.action(ts.restart(tf.zeros([5]), 5), seed=2)
    info = step.info
    assert info.predicted_rewards_mean.dtype == tf.float32
    np.testing.assert_allclose(
        info.predicted_rewards_mean.numpy(), [[0.25, 0.75, 0.5]] * 5
    )
    sampled = info.predicted_rewards_sampled.numpy()
    assert sampled.shape == (5, 3) and np.all((sampled > 0) & (sampled < 1))
    np.testing.assert_array_equal(step.action.numpy(), sampled.argmax(axis=1))
    np.testing.assert_array_equal(
        policy_step.get_log_probability(info).numpy(), np.zeros(5)
    )


def test_masked_arms_are_never_played_and_unbatched_steps_get_a_batch_of_one():
    spec = ts.time_step_spec(
        (tensor_spec.TensorSpec([], tf.float32), tensor_spec.TensorSpec([3], tf.int32))
    )
    policy = bts.BernoulliThompsonSamplingPolicy(
        spec,
        ACT,
        _params([50.0, 1.0, 1.0]),
        _params([1.0, 50.0, 1.0]),
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
    )
    mask = tf.constant([[0, 1, 1], [0, 1, 0], [1, 0, 0]] * 20, tf.int32)
    step = policy.action(ts.restart((tf.zeros([60]), mask), 60), seed=5)
    np.testing.assert_array_equal(step.action.numpy()[1::3], np.ones(20))
    np.testing.assert_array_equal(step.action.numpy()[2::3], np.zeros(20))
    assert not np.any(step.action.numpy()[0::3] == 0)

    plain = bts.BernoulliThompsonSamplingPolicy(
        TS_SPEC, ACT, _params([1.0] * 3), _params([1.0] * 3)
    )
    single = ts.TimeStep(ts.StepType.FIRST, 0.0, 1.0, observation=1.0)
    assert plain.action(single, seed=1).action.shape == (1,)


def test_distribution_is_a_point_mass_and_the_minimum_is_added():
    spec = tensor_spec.BoundedTensorSpec((), tf.int64, 3, 4)
    policy = bts.BernoulliThompsonSamplingPolicy(
        TS_SPEC, spec, _params([1.0, 100.0]), _params([100.0, 1.0])
    )
    dist = policy.distribution(ts.restart(tf.zeros([4]), 4)).action
    np.testing.assert_array_equal(dist.sample().numpy(), [4, 4, 4, 4])
    assert policy.action(ts.restart(tf.zeros([2]), 2)).action.dtype == tf.int64


def test_bad_specs_and_parameter_lists():
    with pytest.raises(NotImplementedError, match="single BoundedTensorSpec; got 2"):
        bts.BernoulliThompsonSamplingPolicy(
            TS_SPEC, [ACT, ACT], _params([1.0] * 3), _params([1.0] * 3)
        )
    with pytest.raises(NotImplementedError, match="integer type and shape"):
        bts.BernoulliThompsonSamplingPolicy(
            TS_SPEC,
            tensor_spec.BoundedTensorSpec((2,), tf.int32, 0, 2),
            _params([1.0] * 3),
            _params([1.0] * 3),
        )
    with pytest.raises(ValueError, match="found to be 2 .*has 3 actions"):
        bts.BernoulliThompsonSamplingPolicy(
            TS_SPEC, ACT, _params([1.0] * 2), _params([1.0] * 2)
        )
    with pytest.raises(ValueError, match="got 3 alphas and 1 betas"):
        bts.BernoulliThompsonSamplingPolicy(
            TS_SPEC, ACT, _params([1.0] * 3), _params([1.0])
        )
