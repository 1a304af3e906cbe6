"""An action mask of another numeric dtype than its spec's is cast, not refused."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.networks import q_network
from policylib.policies import q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

STATE = tensor_spec.TensorSpec([2], tf.float32)
MASK = tensor_spec.TensorSpec([3], tf.int32)
ACTIONS = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _policy() -> q_policy.QPolicy:
    return q_policy.QPolicy(
        ts.time_step_spec({"state": STATE, "mask": MASK}),
        ACTIONS,
        q_network=q_network.QNetwork(STATE, ACTIONS, fc_layer_params=(4,)),
        observation_and_action_constraint_splitter=lambda o: (o["state"], o["mask"]),
    )


@pytest.mark.parametrize("dtype", [tf.float32, tf.bool, tf.int64])
def test_float_bool_and_int64_masks_are_honoured(dtype) -> None:
    policy = _policy()
    mask = tf.cast(tf.constant([[0, 1, 0]] * 4), dtype)
    observation = {"state": tf.random.normal([4, 2]), "mask": mask}
    actions = policy.action(ts.restart(observation, batch_size=4)).action
    np.testing.assert_array_equal(actions, [1, 1, 1, 1])


def test_other_leaves_keep_the_exact_dtype_check() -> None:
    policy = _policy()
    observation = {
        "state": tf.zeros([4, 2], tf.float64),
        "mask": tf.ones([4, 3], tf.int32),
    }
    with pytest.raises(ValueError, match="observation/state has dtype float64"):
        policy.action(ts.restart(observation, batch_size=4))
