"""DDPG, TD3 and SAC on Keras 3 and tf-keras: they learn a one-step continuous
task, train with Keras and `tf.compat.v1` optimizers, soft-update targets that
hold Keras 3 weights, trace `common.function(agent.train)` once, refuse bad
experience and misfit networks clearly, and restore from checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.ddpg import (
    actor_network,
    actor_rnn_network,
    critic_network,
    critic_rnn_network,
    ddpg_agent,
)
from policylib.agents.sac import sac_agent, tanh_normal_projection_network
from policylib.agents.td3 import td3_agent
from policylib.networks import actor_distribution_network
from policylib.policies import greedy_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.utils import common
from tests.agents.tracing import assert_train_traces_once

OBS = tensor_spec.TensorSpec([2], tf.float32, "observation")
ACT = tensor_spec.BoundedTensorSpec([1], tf.float32, -1.0, 1.0, name="action")
TIME_STEP = ts.time_step_spec(OBS)
TARGET_ACTION = 0.5


def _critic() -> critic_network.CriticNetwork:
    return critic_network.CriticNetwork(
        (OBS, ACT),
        joint_fc_layer_params=(32, 32),
        kernel_initializer="glorot_uniform",
        last_kernel_initializer="glorot_uniform",
    )


def _deterministic(cls, optimizer=tf.keras.optimizers.Adam, **kwargs):
    kwargs.setdefault("train_step_counter", tf.Variable(0, dtype=tf.int64))
    return cls(
        TIME_STEP,
        ACT,
        actor_network=actor_network.ActorNetwork(OBS, ACT, fc_layer_params=(16,)),
        critic_network=_critic(),
        actor_optimizer=optimizer(1e-2),
        critic_optimizer=optimizer(1e-2),
        **kwargs,
    )


def _ddpg(**kwargs):
    return _deterministic(ddpg_agent.DdpgAgent, **kwargs)


def _td3(**kwargs):
    return _deterministic(td3_agent.Td3Agent, **kwargs)


def _sac(optimizer=tf.keras.optimizers.Adam, **kwargs):
    kwargs.setdefault("train_step_counter", tf.Variable(0, dtype=tf.int64))
    actor = actor_distribution_network.ActorDistributionNetwork(
        OBS,
        ACT,
        fc_layer_params=(16,),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )
    return sac_agent.SacAgent(
        TIME_STEP,
        ACT,
        critic_network=_critic(),
        actor_network=actor,
        actor_optimizer=optimizer(1e-2),
        critic_optimizer=optimizer(1e-2),
        alpha_optimizer=optimizer(1e-2),
        **kwargs,
    )


BUILDERS = {"ddpg": _ddpg, "td3": _td3, "sac": _sac}


def _experience(batch: int = 64, steps: int = 2, seed: int = 0):
    """One-step episodes of a bandit (one observation): reward `1 - (a - 0.5)^2`."""
    rng = np.random.default_rng(seed)
    observation = np.tile(np.float32([0.5, -0.5]), (batch, steps, 1))
    action = rng.uniform(-1, 1, size=(batch, steps, 1)).astype(np.float32)
    reward = (1.0 - (action[..., 0] - TARGET_ACTION) ** 2).astype(np.float32)
    return trajectory.Trajectory(
        step_type=tf.constant([[ts.StepType.FIRST, ts.StepType.LAST]] * batch),
        observation=tf.constant(observation),
        action=tf.constant(action),
        policy_info=(),
        next_step_type=tf.constant([[ts.StepType.LAST, ts.StepType.FIRST]] * batch),
        reward=tf.constant(reward),
        discount=tf.constant([[0.0, 1.0]] * batch),
    )


def _greedy_action(agent) -> np.ndarray:
    """The mode of the policy's action (SAC's policy samples) at the observation."""
    observation = tf.constant([[0.5, -0.5]] * 4, tf.float32)
    policy = greedy_policy.GreedyPolicy(agent.policy)
    return policy.action(ts.restart(observation, batch_size=4)).action.numpy()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_agent_learns_the_rewarded_action(name) -> None:
    tf.keras.utils.set_random_seed(0)
    agent = BUILDERS[name]()
    agent.initialize()
    train = common.function(agent.train)
    for i in range(300):
        train(_experience(seed=i % 10))
    actions = _greedy_action(agent)
    np.testing.assert_allclose(actions, TARGET_ACTION, atol=0.15)
    assert int(agent.train_step_counter) == 300


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_compat_v1_optimizers_train(name) -> None:
    tf.keras.utils.set_random_seed(0)
    agent = BUILDERS[name](optimizer=tf.compat.v1.train.AdamOptimizer)
    agent.initialize()
    actor = agent._actor_network
    before = [v.numpy().copy() for v in actor.trainable_variables]
    assert before, "the actor's Keras weights are visible"
    for i in range(3):
        loss_info = agent.train(_experience(seed=i))
    assert np.isfinite(float(loss_info.loss))
    after = [v.numpy() for v in actor.trainable_variables]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_targets_trail_the_critics_by_tau(name) -> None:
    tf.keras.utils.set_random_seed(0)
    agent = BUILDERS[name](target_update_tau=0.25)
    agent.initialize()
    critic = agent._critic_network if name == "ddpg" else agent._critic_network_1
    target = (
        agent._target_critic_network
        if name == "ddpg"
        else agent._target_critic_network_1
    )
    assert target.trainable_variables, "the target's Keras weights are visible"
    old_target = [v.numpy().copy() for v in target.variables]
    agent.train(_experience())
    for online, old, new in zip(critic.variables, old_target, target.variables):
        np.testing.assert_allclose(
            new.numpy(), 0.75 * old + 0.25 * online.numpy(), rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_train_in_a_tf_function_traces_once(name) -> None:
    assert_train_traces_once(BUILDERS[name](), [_experience(seed=i) for i in range(5)])


def test_td3_updates_the_actor_every_actor_update_period_steps() -> None:
    tf.keras.utils.set_random_seed(0)
    agent = _td3(actor_update_period=2)
    agent.initialize()
    train = common.function(agent.train)
    actor = agent._actor_network.trainable_variables
    snapshots = [[v.numpy().copy() for v in actor]]
    for i in range(4):
        train(_experience(seed=i))
        snapshots.append([v.numpy().copy() for v in actor])
    moved = [
        any(not np.array_equal(a, b) for a, b in zip(before, after))
        for before, after in zip(snapshots, snapshots[1:])
    ]
    assert moved == [True, False, True, False]


def test_sac_temperature_moves_and_discrete_actions_are_refused() -> None:
    tf.keras.utils.set_random_seed(0)
    agent = _sac()
    before = float(agent._log_alpha.numpy())
    loss_info = agent.train(_experience())
    assert set(loss_info.extra._fields) == {"critic_loss", "actor_loss", "alpha_loss"}
    assert float(agent._log_alpha.numpy()) != before
    discrete = tensor_spec.BoundedTensorSpec([], tf.int32, 0, 3, name="choice")
    with pytest.raises(NotImplementedError, match="discrete actions.*choice"):
        sac_agent.SacAgent(
            TIME_STEP,
            {"choice": discrete},
            critic_network=None,
            actor_network=None,
            actor_optimizer=None,
            critic_optimizer=None,
            alpha_optimizer=None,
        )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_bad_experience_names_what_was_expected(name) -> None:
    agent = BUILDERS[name]()
    with pytest.raises(ValueError, match=r"sequence_length` of '2'.*value '3'"):
        agent.train(_experience(steps=3))
    with pytest.raises(
        ValueError,
        match=r"(?s)observation: got \[64, 2, 3\], expected \[B, T\] \+ \[2\]",
    ):
        agent.train(_experience()._replace(observation=tf.zeros([64, 2, 3])))


def test_an_actor_that_does_not_fit_the_action_spec_is_refused() -> None:
    two = tensor_spec.BoundedTensorSpec([2], tf.float32, -1.0, 1.0, name="action")
    with pytest.raises(ValueError, match=r"at <root>.*float32\[2\].*float32\[1\]"):
        ddpg_agent.DdpgAgent(
            TIME_STEP,
            ACT,
            actor_network=actor_network.ActorNetwork(OBS, two, fc_layer_params=(4,)),
            critic_network=_critic(),
        )


def test_training_without_an_optimizer_says_so() -> None:
    agent = td3_agent.Td3Agent(
        TIME_STEP,
        ACT,
        actor_network=actor_network.ActorNetwork(OBS, ACT, fc_layer_params=(4,)),
        critic_network=_critic(),
        actor_optimizer=None,
        critic_optimizer=None,
    )
    with pytest.raises(ValueError, match="Td3Agent: the optimizer is undefined"):
        agent.train(_experience())


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_checkpoint_restores_every_network(name, tmp_path) -> None:
    tf.keras.utils.set_random_seed(0)
    agent = BUILDERS[name]()
    agent.initialize()
    for i in range(2):
        agent.train(_experience(seed=i))
    common.Checkpointer(
        str(tmp_path), agent=agent, global_step=agent.train_step_counter
    ).save(agent.train_step_counter)
    tf.keras.utils.set_random_seed(1)
    fresh = BUILDERS[name]()
    common.Checkpointer(
        str(tmp_path), agent=fresh, global_step=fresh.train_step_counter
    ).initialize_or_restore().assert_existing_objects_matched()
    assert int(fresh.train_step_counter) == 2
    np.testing.assert_allclose(_greedy_action(fresh), _greedy_action(agent), rtol=1e-6)


def test_recurrent_ddpg_trains_on_sequences() -> None:
    tf.keras.utils.set_random_seed(0)
    actor = actor_rnn_network.ActorRnnNetwork(
        OBS,
        ACT,
        input_fc_layer_params=(8,),
        lstm_size=(4,),
        output_fc_layer_params=(8,),
    )
    critic = critic_rnn_network.CriticRnnNetwork(
        (OBS, ACT),
        observation_fc_layer_params=(8,),
        action_fc_layer_params=(8,),
        joint_fc_layer_params=(8,),
        lstm_size=(4,),
        output_fc_layer_params=(8,),
    )
    agent = ddpg_agent.DdpgAgent(
        TIME_STEP,
        ACT,
        actor_network=actor,
        critic_network=critic,
        actor_optimizer=tf.keras.optimizers.Adam(1e-3),
        critic_optimizer=tf.keras.optimizers.Adam(1e-3),
    )
    assert agent.train_sequence_length is None
    experience = tf.nest.map_structure(
        lambda t: tf.concat([t, t], axis=1), _experience(batch=4)
    )
    loss_info = agent.train(experience)  # [B, 4] sequences
    assert np.isfinite(float(loss_info.loss))
    state = agent.policy.get_initial_state(2)
    step = agent.policy.action(ts.restart(tf.zeros([2, 2]), batch_size=2), state)
    assert step.action.shape == (2, 1)
    assert tf.nest.flatten(step.state)[0].shape == (2, 4)
