"""Small seeded policies shared by the saver and wrapper tests."""

from __future__ import annotations

import tensorflow as tf

from policylib.networks import q_network
from policylib.policies import greedy_policy, q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2, name="action")


def greedy_q(seed: int = 0) -> greedy_policy.GreedyPolicy:
    """A greedy Q policy over a 4-8-3 Q network with seeded weights."""
    tf.keras.utils.set_random_seed(seed)
    net = q_network.QNetwork(OBS, ACT, fc_layer_params=(8,))
    return greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(OBS), ACT, q_network=net)
    )
