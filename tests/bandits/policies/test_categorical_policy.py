"""CategoricalPolicy: samples softmax(inverse_temperature * weights), reports the
exact log-probabilities, follows variable updates, shifts by the spec's minimum,
and rejects weights or specs that do not fit."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.policies import categorical_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

TS_SPEC = ts.time_step_spec(tensor_spec.TensorSpec([3], tf.float32))


def _spec(num_actions, minimum=0, dtype=tf.int32):
    return tensor_spec.BoundedTensorSpec((), dtype, minimum, minimum + num_actions - 1)


def _steps(batch):
    return ts.restart(tf.zeros([batch, 3]), batch)


def test_frequencies_and_log_probabilities_match_the_softmax():
    weights = np.array([0.0, 1.0, 2.0, -1.0], np.float32)
    policy = categorical_policy.CategoricalPolicy(
        weights, TS_SPEC, _spec(4), inverse_temperature=0.5
    )
    step = policy.action(_steps(20000), seed=7)
    expected = np.exp(0.5 * weights) / np.exp(0.5 * weights).sum()
    actions = step.action.numpy()
    assert step.action.dtype == tf.int32 and actions.shape == (20000,)
    np.testing.assert_allclose(
        np.bincount(actions, minlength=4) / 20000, expected, atol=0.015
    )
    np.testing.assert_allclose(
        policy_step.get_log_probability(step.info).numpy(),
        np.log(expected[actions]),
        rtol=1e-5,
    )


def test_variables_are_read_at_every_call():
    weights = tf.Variable([0.0, 0.0, 0.0])
    inverse_temperature = tf.Variable(1.0)
    policy = categorical_policy.CategoricalPolicy(
        weights, TS_SPEC, _spec(3, dtype=tf.int64), inverse_temperature
    )
    assert {id(v) for v in policy.variables()} == {
        id(weights),
        id(inverse_temperature),
    }
    weights.assign([0.0, 5.0, 1.0])
    inverse_temperature.assign(100.0)
    step = policy.action(_steps(500), seed=1)
    assert step.action.dtype == tf.int64
    np.testing.assert_array_equal(step.action.numpy(), np.ones(500))


def test_nonzero_minimum_shifts_actions_and_keeps_probabilities():
    policy = categorical_policy.CategoricalPolicy(
        tf.constant([0.0, 100.0]), TS_SPEC, _spec(2, minimum=5)
    )
    step = policy.action(_steps(10), seed=3)
    np.testing.assert_array_equal(step.action.numpy(), np.full(10, 6))
    np.testing.assert_allclose(
        policy_step.get_log_probability(step.info).numpy(), np.zeros(10), atol=1e-6
    )


def test_without_log_probability_the_info_is_empty():
    policy = categorical_policy.CategoricalPolicy(
        [1.0, 2.0], TS_SPEC, _spec(2), emit_log_probability=False
    )
    assert policy.info_spec == ()
    assert policy.action(_steps(2)).info == ()


def test_bad_weights_or_specs():
    with pytest.raises(ValueError, match=r"weights must be a 1-D vector.*\(2, 2\)"):
        categorical_policy.CategoricalPolicy(np.ones([2, 2]), TS_SPEC, _spec(2))
    with pytest.raises(
        ValueError, match=r"Number of actions \(3\) does not match .*\(4\)"
    ):
        categorical_policy.CategoricalPolicy(np.ones(4), TS_SPEC, _spec(3))
    with pytest.raises(ValueError, match="scalar integer BoundedTensorSpec"):
        categorical_policy.CategoricalPolicy(
            np.ones(2),
            TS_SPEC,
            tensor_spec.BoundedTensorSpec((), tf.float32, 0.0, 1.0),
        )
    with pytest.raises(ValueError, match="single action spec; got 2"):
        categorical_policy.CategoricalPolicy(np.ones(2), TS_SPEC, [_spec(2), _spec(2)])
