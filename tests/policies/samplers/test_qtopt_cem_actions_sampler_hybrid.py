import numpy as np
import pytest
import tensorflow as tf

from policylib.policies.samplers import qtopt_cem_actions_sampler_hybrid as hybrid
from policylib.specs import tensor_spec

ARM = tensor_spec.BoundedTensorSpec([2], tf.float32, -1.0, 1.0)
GEAR = tensor_spec.BoundedTensorSpec([3], tf.int32, 0, 4)


def rows(values, batch):
    return tf.broadcast_to(tf.constant(values, tf.float32), [batch, len(values)])


def test_each_leaf_comes_in_its_dtype_shape_and_bounds():
    sampler = hybrid.GaussianActionsSampler((ARM, GEAR))
    actions = sampler.sample_batch_and_clip(
        300,
        (rows([0.0, 0.0], 2), rows([2.0, 2.0, 2.0], 2)),
        (rows([4.0, 4.0], 2), rows([9.0] * 3, 2)),
    )
    arm, gear = (a.numpy() for a in actions)
    assert actions[0].dtype == tf.float32 and actions[1].dtype == tf.int32
    assert arm.shape == (2, 300, 2) and gear.shape == (2, 300, 3)
    assert arm.min() == -1.0 and arm.max() == 1.0
    assert gear.min() == 0 and gear.max() == 4
    assert set(np.unique(gear)) == {0, 1, 2, 3, 4}


def test_integer_draws_are_truncated_toward_zero():
    gear = tensor_spec.BoundedTensorSpec([3], tf.int32, -5, 5)
    sampler = hybrid.GaussianActionsSampler(gear)
    actions = sampler.sample_batch_and_clip(
        4, rows([2.9, -2.9, 0.7], 1), rows([0.0] * 3, 1)
    )
    np.testing.assert_array_equal(actions.numpy()[0], [[2, -2, 0]] * 4)


def test_clippers_see_bounded_samples_and_run_last():
    seen = []

    def record_then_shift(actions, state):
        seen.append(actions.numpy())
        return actions + state

    sampler = hybrid.GaussianActionsSampler(ARM, sample_clippers=[record_then_shift])
    actions = sampler.sample_batch_and_clip(
        50, rows([0.0, 0.0], 1), rows([25.0, 25.0], 1), tf.constant(10.0)
    )
    assert np.abs(seen[0]).max() <= 1.0
    np.testing.assert_allclose(actions.numpy(), seen[0] + 10.0)


def test_refit_of_integer_samples_is_float32():
    samples = tf.constant([[[0, 4], [2, 2], [4, 0]]], tf.int32)
    mean, var = hybrid.GaussianActionsSampler(
        tensor_spec.BoundedTensorSpec([2], tf.int32, 0, 4)
    ).refit_distribution_to(tf.constant([[0, 1]]), samples)
    assert mean.dtype == tf.float32 and var.dtype == tf.float32
    np.testing.assert_allclose(mean.numpy(), [[1.0, 3.0]])
    np.testing.assert_allclose(var.numpy(), [[1.0, 1.0]])


def test_specs_it_cannot_sample_are_refused_by_name():
    with pytest.raises(ValueError, match=r"Only 1d action.*'1'.*\(2, 2\)"):
        hybrid.GaussianActionsSampler(
            (ARM, tensor_spec.BoundedTensorSpec([2, 2], tf.float32, 0, 1))
        )
    with pytest.raises(ValueError, match=r"'flag'.*bool"):
        hybrid.GaussianActionsSampler(
            {"flag": tensor_spec.BoundedTensorSpec([1], tf.bool, False, True)}
        )
