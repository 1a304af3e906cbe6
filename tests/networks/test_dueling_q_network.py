"""DuelingQNetwork: shapes, Q = V + A - mean(A), DQN/DDQN training and saving."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import policylib.networks
from policylib.agents.dqn import dqn_agent
from policylib.networks import dueling_q_network
from policylib.policies import policy_loader, policy_saver
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

OBS = tensor_spec.TensorSpec((4,), tf.float32, "observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2, "action")


def _observations(*outer: int) -> tf.Tensor:
    rng = np.random.default_rng(0)
    return tf.constant(rng.uniform(-1, 1, (*outer, 4)), tf.float32)


def _net(**kwargs) -> dueling_q_network.DuelingQNetwork:
    tf.keras.utils.set_random_seed(0)
    kwargs.setdefault("fc_layer_params", (8,))
    return dueling_q_network.DuelingQNetwork(OBS, ACT, **kwargs)


def test_one_q_value_per_action_with_outer_dims() -> None:
    net = _net()
    assert net.create_variables() == tf.TensorSpec((3,), tf.float32)
    q, state = net(_observations(5))
    assert q.shape == (5, 3) and state == ()
    q, _ = net(_observations(2, 5))  # batch and time squashed, then restored
    assert q.shape == (2, 5, 3)
    # Encoder dense (2) + advantage head (2) + value head (2).
    assert len(net.trainable_variables) == 6


def test_q_values_are_value_plus_centred_advantage() -> None:
    net = _net()
    observations = _observations(6)
    q, _ = net(observations)
    encoding, _ = net._encoder(observations)
    advantage = net._q_value_layer(encoding)
    value = net._dueling_layer(encoding)
    assert value.shape == (6, 1)
    expected = value + advantage - tf.reduce_mean(advantage, axis=1, keepdims=True)
    np.testing.assert_allclose(q, expected, rtol=1e-6, atol=1e-6)
    # The mean over actions is the state value; the greedy action is argmax A.
    np.testing.assert_allclose(tf.reduce_mean(q, axis=1), value[:, 0], atol=1e-6)
    np.testing.assert_array_equal(tf.argmax(q, 1), tf.argmax(advantage, 1))


def test_takes_q_network_arguments() -> None:
    image = tensor_spec.TensorSpec((6, 6, 2), tf.float32)
    net = dueling_q_network.DuelingQNetwork(
        image,
        tensor_spec.BoundedTensorSpec((1,), tf.int64, 0, 1),
        conv_layer_params=((4, 3, 2),),
        fc_layer_params=(8, 8),
        dropout_layer_params=(0.5, None),
        q_layer_activation_fn=tf.keras.activations.tanh,
        name="duel",
    )
    q, _ = net(tf.ones([3, 6, 6, 2]), training=True)
    assert q.shape == (3, 2) and net.name == "duel"
    # conv (2) + two dense (4) + advantage (2) + value (2).
    assert len(net.trainable_variables) == 10


def test_dict_observations_with_preprocessing_layers() -> None:
    spec = {
        "a": tensor_spec.TensorSpec((3,), tf.float32),
        "b": tensor_spec.TensorSpec((), tf.float32),
    }
    net = dueling_q_network.DuelingQNetwork(
        spec,
        ACT,
        preprocessing_layers={
            "a": tf.keras.layers.Dense(4),
            "b": tf.keras.Sequential(
                [tf.keras.layers.Reshape((1,)), tf.keras.layers.Dense(4)]
            ),
        },
        preprocessing_combiner=tf.keras.layers.Add(),
    )
    q, _ = net({"a": tf.ones([2, 3]), "b": tf.ones([2])})
    assert q.shape == (2, 3)


def test_more_than_one_action_is_refused() -> None:
    with pytest.raises(ValueError, match="single action"):
        dueling_q_network.DuelingQNetwork(OBS, (ACT, ACT))


def test_reachable_through_the_lazy_package() -> None:
    assert policylib.networks.dueling_q_network is dueling_q_network
    assert "dueling_q_network" in dir(policylib.networks)


def _experience(batch: int = 4) -> trajectory.Trajectory:
    rng = np.random.default_rng(1)
    return trajectory.Trajectory(
        step_type=tf.fill([batch, 2], ts.StepType.MID),
        observation=tf.constant(rng.normal(size=(batch, 2, 4)), tf.float32),
        action=tf.constant(rng.integers(0, 3, (batch, 2)), tf.int32),
        policy_info=(),
        next_step_type=tf.fill([batch, 2], ts.StepType.MID),
        reward=tf.ones([batch, 2]),
        discount=tf.ones([batch, 2]),
    )


def _agent(cls: type[dqn_agent.DqnAgent]) -> dqn_agent.DqnAgent:
    agent = cls(
        ts.time_step_spec(OBS),
        ACT,
        q_network=_net(),
        optimizer=tf.keras.optimizers.Adam(1e-2),
        target_update_period=2,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    return agent


@pytest.mark.parametrize("cls", [dqn_agent.DqnAgent, dqn_agent.DdqnAgent])
def test_dqn_agents_train_both_heads(cls: type[dqn_agent.DqnAgent]) -> None:
    agent = _agent(cls)
    net = agent._q_network
    before = [v.numpy().copy() for v in net._dueling_layer.trainable_variables]
    before += [v.numpy().copy() for v in net._q_value_layer.trainable_variables]
    loss = agent.train(_experience()).loss
    assert np.isfinite(float(loss))
    assert int(agent.train_step_counter) == 1
    after = (
        net._dueling_layer.trainable_variables + net._q_value_layer.trainable_variables
    )
    for old, new in zip(before, after):
        assert not np.allclose(old, new.numpy())
    # The target network is a dueling network too (copied from the online one).
    assert isinstance(agent._target_q_network, dueling_q_network.DuelingQNetwork)


def test_policy_saver_round_trip(tmp_path) -> None:
    agent = _agent(dqn_agent.DdqnAgent)
    agent.train(_experience())
    policy = agent.policy
    policy_saver.PolicySaver(policy, batch_size=None).save(str(tmp_path / "policy"))
    loaded = policy_loader.load(str(tmp_path / "policy"))
    time_step = ts.restart(_observations(5), batch_size=5)
    np.testing.assert_array_equal(
        loaded.action(time_step).action, policy.action(time_step).action
    )
