"""A linear reward network with fixed weights, for the reward-prediction policy tests.

`predicted rewards = observation @ kernel + bias`, so tests know the
predictions exactly.
"""

import numpy as np
import tensorflow as tf

from policylib.networks import network


class FixedRewardNetwork(network.Network):
    """`[B, D] -> [B, A]`: `x @ kernel + bias` with constant weights."""

    def __init__(self, input_tensor_spec, kernel, bias, name="FixedRewardNetwork"):
        super().__init__(input_tensor_spec, state_spec=(), name=name)
        kernel = np.asarray(kernel, np.float32)
        self._dense = tf.keras.layers.Dense(
            kernel.shape[1],
            kernel_initializer=tf.constant_initializer(kernel),
            bias_initializer=tf.constant_initializer(np.asarray(bias, np.float32)),
        )

    def call(self, observation, step_type=None, network_state=()):
        return self._dense(tf.cast(observation, tf.float32)), network_state
