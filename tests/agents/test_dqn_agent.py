"""DqnAgent / DdqnAgent / C51 on Keras 3 and tf-keras: training moves weights,
both optimizer kinds work, `common.function(agent.train)` does not retrace, bad
experience gets a clear error, and a checkpoint restores the agent."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.categorical_dqn import categorical_dqn_agent
from policylib.agents.dqn import dqn_agent
from policylib.networks import categorical_q_network, q_network
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.utils import common
from tests.agents.tracing import assert_train_traces_once

OBS = tensor_spec.TensorSpec([2], tf.float32, "observation")
ACT = tensor_spec.BoundedTensorSpec([], tf.int32, 0, 1, name="action")
TIME_STEP = ts.time_step_spec(OBS)


def _agent(cls=dqn_agent.DqnAgent, optimizer=None, **kwargs):
    kwargs.setdefault("train_step_counter", tf.Variable(0, dtype=tf.int64))
    tf.keras.utils.set_random_seed(0)
    return cls(
        TIME_STEP,
        ACT,
        q_network=q_network.QNetwork(OBS, ACT, fc_layer_params=(8,)),
        optimizer=optimizer or tf.keras.optimizers.Adam(1e-2),
        **kwargs,
    )


def _experience(batch: int = 4, steps: int = 2) -> trajectory.Trajectory:
    rng = np.random.default_rng(0)
    observation = tf.constant(rng.normal(size=(batch, steps, 2)), tf.float32)
    return trajectory.Trajectory(
        step_type=tf.fill([batch, steps], ts.StepType.MID),
        observation=observation,
        action=tf.constant(rng.integers(0, 2, (batch, steps)), tf.int32),
        policy_info=(),
        next_step_type=tf.fill([batch, steps], ts.StepType.MID),
        reward=tf.ones([batch, steps]),
        discount=tf.ones([batch, steps]),
    )


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: tf.keras.optimizers.Adam(1e-2),
        lambda: tf.compat.v1.train.AdamOptimizer(1e-2),
    ],
    ids=["keras", "compat.v1"],
)
@pytest.mark.parametrize("cls", [dqn_agent.DqnAgent, dqn_agent.DdqnAgent])
def test_training_updates_the_network_and_counts_steps(cls, optimizer) -> None:
    agent = _agent(cls, optimizer())
    agent.initialize()
    before = [v.numpy().copy() for v in agent._q_network.trainable_variables]
    assert before, "the Q network's variables are visible"
    losses = [float(agent.train(_experience()).loss) for _ in range(20)]
    after = [v.numpy() for v in agent._q_network.trainable_variables]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
    assert int(agent.train_step_counter) == 20
    assert np.isfinite(losses).all()


def test_target_network_follows_every_period() -> None:
    agent = _agent(target_update_period=3)
    agent.initialize()
    online, target = agent._q_network.variables, agent._target_q_network.variables
    assert all(np.allclose(a.numpy(), b.numpy()) for a, b in zip(online, target))
    agent.train(_experience())
    assert any(not np.allclose(a.numpy(), b.numpy()) for a, b in zip(online, target))
    agent.train(_experience())
    agent.train(_experience())  # third step: copied
    assert all(np.allclose(a.numpy(), b.numpy()) for a, b in zip(online, target))


def test_train_in_a_tf_function_traces_once() -> None:
    assert_train_traces_once(_agent(), [_experience()] * 6)


def test_wrong_time_length_says_what_was_expected() -> None:
    agent = _agent()
    with pytest.raises(
        ValueError, match=r"sequence_length` of '2'.*time axis dim value '3'"
    ):
        agent.train(_experience(steps=3))
    with pytest.raises(
        ValueError,
        match=r"(?s)observation: got \[4, 2, 3\], expected \[B, T\] \+ \[2\]",
    ):
        agent.train(_experience()._replace(observation=tf.zeros([4, 2, 3])))


def test_q_network_with_the_wrong_number_of_outputs_is_refused() -> None:
    three = tensor_spec.BoundedTensorSpec([], tf.int32, 0, 2)
    with pytest.raises(ValueError, match=r"q_network.*inner dims \(2,\)"):
        dqn_agent.DqnAgent(
            TIME_STEP,
            ACT,
            q_network=q_network.QNetwork(OBS, three),
            optimizer=tf.keras.optimizers.Adam(),
        )


def test_checkpoint_restores_networks_and_step(tmp_path) -> None:
    agent = _agent()
    agent.initialize()
    for _ in range(3):
        agent.train(_experience())
    checkpointer = common.Checkpointer(
        str(tmp_path),
        agent=agent,
        policy=agent.policy,
        global_step=agent.train_step_counter,
    )
    checkpointer.save(agent.train_step_counter)
    fresh = _agent()
    restored = common.Checkpointer(
        str(tmp_path),
        agent=fresh,
        policy=fresh.policy,
        global_step=fresh.train_step_counter,
    )
    restored.initialize_or_restore().assert_existing_objects_matched()
    assert int(fresh.train_step_counter) == 3
    for a, b in zip(agent._q_network.variables, fresh._q_network.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    observation = tf.constant([[0.3, -0.2], [1.0, 2.0]])
    step = ts.restart(observation, batch_size=2)
    np.testing.assert_array_equal(
        agent.policy.action(step).action.numpy(),
        fresh.policy.action(step).action.numpy(),
    )


def test_categorical_agent_learns_a_constant_reward() -> None:
    tf.keras.utils.set_random_seed(0)
    net = categorical_q_network.CategoricalQNetwork(
        OBS, ACT, num_atoms=11, fc_layer_params=(8,)
    )
    agent = categorical_dqn_agent.CategoricalDqnAgent(
        TIME_STEP,
        ACT,
        categorical_q_network=net,
        optimizer=tf.keras.optimizers.Adam(5e-2),
        min_q_value=0.0,
        max_q_value=4.0,
        gamma=0.0,
    )
    experience = _experience()
    losses = [float(agent.train(experience).loss) for _ in range(60)]
    assert losses[-1] < losses[0] / 2
    # With gamma 0 the Q values of the actions taken converge to the reward 1.
    q_logits, _ = net(experience.observation[:, 0])
    q_values = common.convert_q_logits_to_values(q_logits, agent._support)
    taken = common.index_with_actions(q_values, experience.action[:, 0])
    np.testing.assert_allclose(taken.numpy(), 1.0, atol=0.3)


def test_loss_of_a_transition_equals_that_of_its_trajectory() -> None:
    agent = _agent()
    experience = _experience()
    transition = tf.nest.map_structure(
        lambda t: tf.squeeze(t, 1), trajectory.to_transition(experience)
    )
    np.testing.assert_allclose(
        float(agent.loss(transition).loss),
        float(agent.loss(experience).loss),
        rtol=1e-6,
    )
