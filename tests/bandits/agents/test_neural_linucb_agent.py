"""NeuralLinUCBAgent: trains encoder + reward layer for the first steps, then
freezes them and accumulates LinUCB statistics (with forgetting, per arm or
shared with per-arm features), also traced and through the distributed path."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import neural_linucb_agent as nl_agent
from policylib.bandits.networks import global_and_arm_feature_network as arm_network
from policylib.networks import network
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.utils import common

DIM = 3
ENC = 4
OBS = tensor_spec.TensorSpec([DIM], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
RNG = np.random.default_rng(5)


class Encoder(network.Network):
    """A trainable dense encoder."""

    def __init__(self, spec):
        super().__init__(spec, state_spec=(), name="Encoder")
        self._dense = tf.keras.layers.Dense(
            ENC,
            kernel_initializer=tf.constant_initializer(
                RNG.normal(size=(DIM, ENC)).astype(np.float32)
            ),
        )

    def call(self, observation, step_type=None, network_state=(), training=False):
        return self._dense(tf.cast(observation, tf.float32)), network_state


def _experience(observation, action, reward, policy_info=None):
    def col(x):
        return tf.nest.map_structure(lambda t: tf.expand_dims(tf.constant(t), 1), x)

    batch = len(action)
    return trajectory.Trajectory(
        step_type=tf.fill([batch, 1], ts.StepType.FIRST),
        observation=col(observation),
        action=col(np.asarray(action, np.int32)),
        policy_info=policy_info or policy_utilities.PolicyInfo(),
        next_step_type=tf.fill([batch, 1], ts.StepType.LAST),
        reward=col(np.asarray(reward, np.float32)),
        discount=tf.zeros([batch, 1]),
    )


def _agent(num_train_steps, **kwargs):
    encoder = kwargs.pop("encoder", Encoder(OBS))
    return nl_agent.NeuralLinUCBAgent(
        time_step_spec=kwargs.pop("time_step_spec", ts.time_step_spec(OBS)),
        action_spec=ACT,
        encoding_network=encoder,
        encoding_network_num_train_steps=num_train_steps,
        encoding_dim=ENC,
        optimizer=kwargs.pop("optimizer", tf.keras.optimizers.SGD(0.05)),
        train_step_counter=tf.Variable(0, dtype=tf.int64),
        **kwargs,
    ), encoder


def _batch(n=8):
    x = RNG.normal(size=(n, DIM)).astype(np.float32)
    return x, RNG.integers(0, 3, size=n), RNG.uniform(size=n).astype(np.float32)


def _expected_stats(encoder, x, action, reward, num_arms=3):
    encoded = encoder(tf.constant(x))[0].numpy().astype(np.float64)
    a = [encoded[action == k].T @ encoded[action == k] for k in range(num_arms)]
    b = [encoded[action == k].T @ reward[action == k] for k in range(num_arms)]
    return a, b


@pytest.mark.parametrize("traced", [False, True])
def test_encoder_phase_then_frozen_linucb_phase(traced):
    agent, encoder = _agent(2)
    train = common.function(agent.train) if traced else agent.train
    kernel = encoder.trainable_variables[0]
    for _ in range(2):
        before = kernel.numpy().copy()
        loss = train(_experience(*_batch()))
        assert loss.loss.numpy() > 0
        assert not np.allclose(kernel.numpy(), before)
        assert bool(agent.actions_from_reward_layer.numpy())
    assert all(np.all(a.numpy() == 0) for a in agent.cov_matrix)

    x, action, reward = _batch(12)
    frozen = kernel.numpy().copy()
    loss = train(_experience(x, action, reward))
    assert not bool(agent.actions_from_reward_layer.numpy())
    np.testing.assert_array_equal(kernel.numpy(), frozen)
    np.testing.assert_allclose(loss.loss.numpy(), -reward.sum(), rtol=1e-5)
    a, b = _expected_stats(encoder, x, action, reward)
    for k in range(3):
        np.testing.assert_allclose(
            agent.cov_matrix[k].numpy(), a[k], rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            agent.data_vector[k].numpy(), b[k], rtol=1e-5, atol=1e-6
        )
        assert agent.num_samples[k].numpy() == np.sum(action == k)
    assert int(agent.train_step_counter.numpy()) == 3


def test_forgetting_and_distributed_update_agree():
    agent, encoder = _agent(-1, gamma=0.5, optimizer=None)
    twin, _ = _agent(-1, gamma=0.5, optimizer=None, encoder=encoder)
    first, second = _batch(), _batch()
    for x, action, reward in (first, second):
        agent.train(_experience(x, action, reward))
        twin.compute_loss_using_linucb_distributed(
            tf.constant(x), tf.constant(action), tf.constant(reward, tf.float64)
        )
    a1, b1 = _expected_stats(encoder, *first)
    a2, b2 = _expected_stats(encoder, *second)
    for k in range(3):
        np.testing.assert_allclose(
            agent.cov_matrix[k].numpy(), 0.5 * a1[k] + a2[k], atol=1e-6
        )
        np.testing.assert_allclose(
            agent.data_vector[k].numpy(), 0.5 * b1[k] + b2[k], atol=1e-6
        )
        np.testing.assert_allclose(
            twin.cov_matrix[k].numpy(), agent.cov_matrix[k].numpy()
        )
        np.testing.assert_allclose(
            twin.num_samples[k].numpy(), agent.num_samples[k].numpy()
        )


def test_per_arm_features_feed_one_shared_model_with_the_chosen_arms():
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(2, DIM, 3)
    encoder = arm_network.create_feed_forward_common_tower_network(
        obs_spec, (4,), (4,), (5,), output_dim=ENC
    )
    agent, _ = _agent(
        -1,
        encoder=encoder,
        time_step_spec=ts.time_step_spec(obs_spec),
        accepts_per_arm_features=True,
        optimizer=None,
    )
    assert len(agent.cov_matrix) == 1
    chosen = RNG.normal(size=(5, DIM)).astype(np.float32)
    reward = RNG.uniform(size=5).astype(np.float32)
    global_features = RNG.normal(size=(5, 2)).astype(np.float32)
    observation = {bandit_spec_utils.GLOBAL_FEATURE_KEY: global_features}
    info = policy_utilities.PerArmPolicyInfo(
        chosen_arm_features=tf.expand_dims(tf.constant(chosen), 1)
    )
    agent.train(_experience(observation, [2, 0, 1, 1, 0], reward, policy_info=info))
    # The network sees each context with its chosen arm only.
    encoded, _ = encoder(
        {
            bandit_spec_utils.GLOBAL_FEATURE_KEY: tf.constant(global_features),
            bandit_spec_utils.PER_ARM_FEATURE_KEY: tf.constant(chosen[:, None]),
        }
    )
    encoded = tf.reshape(encoded, [5, ENC]).numpy().astype(np.float64)
    np.testing.assert_allclose(
        agent.cov_matrix[0].numpy(), encoded.T @ encoded, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        agent.data_vector[0].numpy(), encoded.T @ reward, rtol=1e-5, atol=1e-6
    )
    assert agent.num_samples[0].numpy() == 5


def test_linucb_phase_learns_a_linear_bandit():
    theta = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [0.5, 0.5, 1.0]])
    agent, encoder = _agent(-1, optimizer=None, alpha=0.1)
    for i in range(25):
        x = RNG.normal(size=(16, DIM)).astype(np.float32)
        action = agent.collect_policy.action(ts.restart(tf.constant(x), 16), seed=i)
        action = action.action.numpy()
        reward = (x @ theta)[np.arange(16), action] + 0.05 * RNG.normal(size=16)
        agent.train(_experience(x, action, reward))
    x = RNG.normal(size=(200, DIM)).astype(np.float32)
    chosen = agent.policy.action(ts.restart(tf.constant(x), 200)).action.numpy()
    assert np.mean(chosen == (x @ theta).argmax(axis=1)) > 0.8


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"gamma` must be in \[0.0, 1.0\]; got 1.5"):
        _agent(0, gamma=1.5)
    with pytest.raises(ValueError, match="float64`; got int32"):
        _agent(0, dtype=tf.int32)
    with pytest.raises(TypeError, match="NeuralLinUCBVariableCollection`; got list"):
        _agent(0, variable_collection=[])
    with pytest.raises(ValueError, match="holds 2 models; this agent needs 3"):
        _agent(0, variable_collection=nl_agent.NeuralLinUCBVariableCollection(2, ENC))
    agent, _ = _agent(5, optimizer=None)
    with pytest.raises(ValueError, match="optimizer is undefined"):
        agent.train(_experience(*_batch()))


def test_checkpoint_restores_networks_and_linucb_statistics(tmp_path):
    agent, encoder = _agent(1)
    agent.train(_experience(*_batch()))
    agent.train(_experience(*_batch()))
    checkpoint = tf.train.Checkpoint(agent=agent)
    path = checkpoint.save(str(tmp_path / "ckpt"))
    saved = [v.numpy().copy() for v in agent.variables]
    agent.train(_experience(*_batch()))
    agent._reward_layer.kernel.assign(tf.zeros_like(agent._reward_layer.kernel))
    encoder.trainable_variables[0].assign(tf.zeros_like(encoder.trainable_variables[0]))
    checkpoint.restore(path)
    for variable, value in zip(agent.variables, saved):
        np.testing.assert_array_equal(variable.numpy(), value)
