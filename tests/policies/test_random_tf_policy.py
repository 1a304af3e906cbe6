import numpy as np
import pytest
import tensorflow as tf

from policylib.policies import random_tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tf.TensorSpec((2,), tf.float32)


def test_tutorial_example_bounds():
    action_spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, minimum=-1, maximum=3)
    time_step_spec = ts.time_step_spec(OBS)
    policy = random_tf_policy.RandomTFPolicy(
        action_spec=action_spec, time_step_spec=time_step_spec
    )
    step = policy.action(ts.restart(tf.ones(time_step_spec.observation.shape)))
    assert step.action.shape == (2,)
    assert np.all(step.action.numpy() >= -1) and np.all(step.action.numpy() <= 3)
    with pytest.raises(NotImplementedError):
        policy.distribution(ts.restart(tf.ones([2])))


def test_batched_log_probability_of_integer_leaves():
    spec = tensor_spec.BoundedTensorSpec((2,), tf.int32, 0, 4)
    policy = random_tf_policy.RandomTFPolicy(
        ts.time_step_spec(OBS), spec, emit_log_probability=True
    )
    step = policy.action(ts.restart(tf.ones([5, 2]), batch_size=5))
    assert step.action.shape == (5, 2)
    np.testing.assert_allclose(
        step.info.log_probability.numpy(), [2 * np.log(1 / 5)] * 5, rtol=1e-6
    )


def test_masks_from_splitter_and_stationary_mask_combine():
    spec = tensor_spec.BoundedTensorSpec((), tf.int32, 1, 4)
    policy = random_tf_policy.RandomTFPolicy(
        ts.time_step_spec({"obs": OBS, "mask": tf.TensorSpec((4,), tf.int32)}),
        spec,
        observation_and_action_constraint_splitter=lambda o: (o["obs"], o["mask"]),
        stationary_mask=[1, 1, 0, 1],
    )
    obs = {"obs": tf.ones([400, 2]), "mask": tf.tile([[1, 0, 1, 1]], [400, 1])}
    actions = policy.action(ts.restart(obs, batch_size=400)).action.numpy()
    assert set(np.unique(actions)) == {1, 4}


def test_mask_needs_scalar_bounded_spec():
    with pytest.raises(NotImplementedError, match=r"shape \(\) or \(1,\)"):
        random_tf_policy.RandomTFPolicy(
            ts.time_step_spec(OBS),
            tensor_spec.BoundedTensorSpec((3,), tf.int32, 0, 1),
            observation_and_action_constraint_splitter=lambda o: (o, o),
        )
    with pytest.raises(ValueError, match=r"stationary_mask must have shape \(2,\)"):
        random_tf_policy.RandomTFPolicy(
            ts.time_step_spec(OBS),
            tensor_spec.BoundedTensorSpec((), tf.int32, 0, 1),
            stationary_mask=[1, 1, 1],
        )
