"""HeteroscedasticQNetwork: rewards and clipped log-variances per action."""

import math

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.networks import heteroscedastic_q_network as hqn
from policylib.specs import tensor_spec

OBS = tensor_spec.TensorSpec([4], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _states(batch=6, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(size=(batch, 4)), tf.float32)


def test_outputs_rewards_and_log_variances_per_action():
    net = hqn.HeteroscedasticQNetwork(OBS, ACT, fc_layer_params=(8, 5))
    result, state = net(_states())
    assert isinstance(result, hqn.QBanditNetworkResult)
    assert result.q_value_logits.shape == (6, 3)
    assert result.log_variance.shape == (6, 3)
    assert state == ()
    # Two hidden layers, the reward head and the variance head: a kernel and a bias each.
    assert len(net.trainable_variables) == 8
    assert net.create_variables().q_value_logits.shape == (3,)


def test_log_variance_stays_within_the_bounds():
    net = hqn.HeteroscedasticQNetwork(
        OBS, ACT, fc_layer_params=(8,), min_variance=0.5, max_variance=0.6
    )
    # Large inputs push the unclipped log-variance far outside the bounds.
    log_variance = net(100.0 * _states())[0].log_variance.numpy()
    assert np.all(log_variance >= math.log(0.5) - 1e-6)
    assert np.all(log_variance <= math.log(0.6) + 1e-6)
    pinned = hqn.HeteroscedasticQNetwork(
        OBS, ACT, fc_layer_params=(8,), min_variance=2.0, max_variance=2.0
    )
    np.testing.assert_allclose(
        pinned(_states())[0].log_variance, math.log(2.0), rtol=1e-6
    )


def test_trains_by_gaussian_likelihood():
    tf.random.set_seed(3)
    net = hqn.HeteroscedasticQNetwork(OBS, ACT, fc_layer_params=(16,))
    states = _states(batch=32)
    # Action a's reward is a + noise whose spread grows with a.
    rewards = tf.constant(
        np.arange(3) + np.random.default_rng(1).normal(size=(32, 3)) * [0.1, 1.0, 3.0],
        tf.float32,
    )
    net.create_variables()
    optimizer = tf.keras.optimizers.Adam(0.03)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = net(states, training=True)[0]
            nll = 0.5 * (
                out.log_variance
                + (rewards - out.q_value_logits) ** 2 * tf.exp(-out.log_variance)
            )
            loss = tf.reduce_mean(nll)
        variables = net.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    first = float(step())
    for _ in range(40):
        last = float(step())
    assert last < first
    out = net(states)[0]
    means = out.q_value_logits.numpy().mean(0)
    assert means[0] < means[1] < means[2]


def test_copy_has_its_own_weights():
    net = hqn.HeteroscedasticQNetwork(OBS, ACT, fc_layer_params=(5,))
    net(_states())
    twin = net.copy(name="Target")
    twin(_states())
    assert twin.name == "Target"
    assert len(twin.variables) == len(net.variables)
    assert not {id(v) for v in twin.variables} & {id(v) for v in net.variables}


def test_bad_arguments():
    with pytest.raises(
        ValueError, match="0 < min_variance <= max_variance.*min_variance=2.0"
    ):
        hqn.HeteroscedasticQNetwork(OBS, ACT, min_variance=2.0, max_variance=1.0)
    with pytest.raises(ValueError, match="min_variance=0.0"):
        hqn.HeteroscedasticQNetwork(OBS, ACT, min_variance=0.0)
    with pytest.raises(ValueError, match="single action"):
        hqn.HeteroscedasticQNetwork(OBS, [ACT, ACT])
    with pytest.raises(ValueError, match="shape in"):
        hqn.HeteroscedasticQNetwork(
            OBS, tensor_spec.BoundedTensorSpec((2,), tf.int32, 0, 2)
        )
