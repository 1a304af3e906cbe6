"""QPolicy, CategoricalQPolicy, BoltzmannPolicy and ActorPolicy with the standard networks."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.networks import (
    actor_distribution_network,
    categorical_q_network,
    q_network,
)
from policylib.policies import (
    actor_policy,
    boltzmann_policy,
    categorical_q_policy,
    greedy_policy,
    q_policy,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32)
TS_SPEC = ts.time_step_spec(OBS)
DISCRETE = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _time_step(batch=3, seed=(0, 1)):
    return ts.restart(
        tf.random.stateless_uniform([batch, 4], seed=seed), batch_size=batch
    )


def test_q_policy_samples_categorical_over_q_values_and_emits_log_probs():
    tf.keras.utils.set_random_seed(0)
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(8,))
    policy = q_policy.QPolicy(TS_SPEC, DISCRETE, net, emit_log_probability=True)
    step = policy.action(_time_step(), seed=1)
    assert step.action.dtype == tf.int32 and step.action.shape == (3,)
    dist = policy.distribution(_time_step()).action
    assert isinstance(dist, tfp.distributions.Categorical)
    q_values, _ = net(_time_step().observation)
    np.testing.assert_allclose(dist.logits.numpy(), q_values.numpy())
    expected = dist.log_prob(step.action).numpy()
    np.testing.assert_allclose(step.info.log_probability.numpy(), expected, rtol=1e-5)
    greedy = greedy_policy.GreedyPolicy(policy).action(_time_step()).action.numpy()
    np.testing.assert_array_equal(greedy, np.argmax(q_values.numpy(), axis=-1))


def test_q_policy_mask_is_respected():
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(8,))
    spec = ts.time_step_spec(
        {"obs": OBS, "mask": tensor_spec.TensorSpec((3,), tf.int32)}
    )
    policy = q_policy.QPolicy(
        spec,
        DISCRETE,
        net,
        observation_and_action_constraint_splitter=lambda o: (o["obs"], o["mask"]),
    )
    obs = {"obs": tf.ones([50, 4]), "mask": tf.tile([[0, 1, 0]], [50, 1])}
    actions = policy.action(ts.restart(obs, batch_size=50), seed=3).action.numpy()
    assert set(actions.tolist()) == {1}


def test_q_policy_rejects_bad_specs_and_networks():
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(8,))
    with pytest.raises(ValueError, match="minimum of 0"):
        q_policy.QPolicy(
            TS_SPEC, tensor_spec.BoundedTensorSpec((), tf.int32, 1, 3), net
        )
    with pytest.raises(ValueError, match="Only scalar actions"):
        q_policy.QPolicy(TS_SPEC, [DISCRETE, DISCRETE], net)
    wrong = q_network.QNetwork(OBS, tensor_spec.BoundedTensorSpec((), tf.int32, 0, 4))
    with pytest.raises(ValueError, match="floating point tensor with inner dims"):
        q_policy.QPolicy(TS_SPEC, DISCRETE, wrong)


def test_boltzmann_temperature_scales_logits_and_may_be_a_variable():
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(8,))
    base = q_policy.QPolicy(TS_SPEC, DISCRETE, net)
    temperature = tf.Variable(2.0)
    policy = boltzmann_policy.BoltzmannPolicy(base, temperature=temperature)
    logits = base.distribution(_time_step()).action.logits
    np.testing.assert_allclose(
        policy.distribution(_time_step()).action.logits, logits / 2.0
    )
    temperature.assign(0.5)
    np.testing.assert_allclose(
        policy.distribution(_time_step()).action.logits, logits / 0.5
    )


def test_categorical_q_policy_uses_expected_values():
    net = categorical_q_network.CategoricalQNetwork(
        OBS, DISCRETE, num_atoms=5, fc_layer_params=(8,)
    )
    policy = categorical_q_policy.CategoricalQPolicy(
        TS_SPEC, DISCRETE, net, -10.0, 10.0
    )
    logits, _ = net(_time_step().observation)
    support = np.linspace(-10.0, 10.0, 5, dtype=np.float32)
    expected = np.sum(tf.nn.softmax(logits).numpy() * support, axis=-1)
    np.testing.assert_allclose(
        policy.distribution(_time_step()).action.logits, expected, rtol=1e-5
    )


def test_actor_policy_with_distribution_network_clips_and_wraps():
    action_spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, -0.1, 0.1)
    net = actor_distribution_network.ActorDistributionNetwork(
        OBS, action_spec, fc_layer_params=(8,)
    )
    policy = actor_policy.ActorPolicy(TS_SPEC, action_spec, net)
    actions = policy.action(_time_step(batch=20), seed=5).action.numpy()
    assert actions.shape == (20, 2) and np.all(np.abs(actions) <= 0.1 + 1e-7)
    assert isinstance(
        policy.distribution(_time_step()).action,
        tfp.distributions.MultivariateNormalDiag,
    )


def test_actor_policy_rejects_mismatched_network():
    net = actor_distribution_network.ActorDistributionNetwork(
        OBS, DISCRETE, fc_layer_params=(8,)
    )
    other = tensor_spec.BoundedTensorSpec((2,), tf.float32, -1, 1)
    with pytest.raises(ValueError, match="does not match action spec"):
        actor_policy.ActorPolicy(TS_SPEC, other, net)
    with pytest.raises(ValueError, match="must be a network.Network"):
        actor_policy.ActorPolicy(TS_SPEC, DISCRETE, tf.keras.layers.Dense(3))


def test_trainable_variables_see_network_weights_in_both_keras_modes():
    action_spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, -1.0, 1.0)
    net = actor_distribution_network.ActorDistributionNetwork(
        OBS, action_spec, fc_layer_params=(8,)
    )
    policy = actor_policy.ActorPolicy(TS_SPEC, action_spec, net)
    policy.action(_time_step())
    expected = {id(v) for v in policy.variables() if v.trainable}
    assert expected and {id(v) for v in policy.trainable_variables} == expected
    assert len(policy.trainable_variables) == len(net.trainable_variables)
