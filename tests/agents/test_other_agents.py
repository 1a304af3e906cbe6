"""REINFORCE, behavioral cloning and the random agent, on Keras 3 and tf-keras."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents import tf_agent
from policylib.agents.behavioral_cloning import behavioral_cloning_agent
from policylib.agents.random import random_agent
from policylib.agents.reinforce import reinforce_agent
from policylib.networks import actor_distribution_network, q_network, value_network
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

OBS = tensor_spec.TensorSpec([2], tf.float32, "observation")
ACT = tensor_spec.BoundedTensorSpec([], tf.int32, 0, 1, name="action")
TIME_STEP = ts.time_step_spec(OBS)


def _episode(batch: int = 3, steps: int = 4, action_of=lambda o: o[..., 0] > 0):
    """One episode per row: FIRST, MID..., LAST; reward 1 when the action is right."""
    rng = np.random.default_rng(1)
    observation = rng.normal(size=(batch, steps, 2)).astype(np.float32)
    action = rng.integers(0, 2, (batch, steps)).astype(np.int32)
    step_type = np.full((batch, steps), ts.StepType.MID, np.int32)
    step_type[:, 0] = ts.StepType.FIRST
    step_type[:, -1] = ts.StepType.LAST
    next_step_type = np.roll(step_type, -1, axis=1)
    next_step_type[:, -2] = ts.StepType.LAST
    next_step_type[:, -1] = ts.StepType.FIRST
    reward = (action == action_of(observation)).astype(np.float32)
    return trajectory.Trajectory(
        tf.constant(step_type),
        tf.constant(observation),
        tf.constant(action),
        (),
        tf.constant(next_step_type),
        tf.constant(reward),
        tf.ones([batch, steps]),
    )


@pytest.mark.parametrize("with_value_network", [False, True])
def test_reinforce_makes_rewarded_actions_likelier(with_value_network) -> None:
    tf.keras.utils.set_random_seed(0)
    actor = actor_distribution_network.ActorDistributionNetwork(
        OBS, ACT, fc_layer_params=(8,)
    )
    agent = reinforce_agent.ReinforceAgent(
        TIME_STEP,
        ACT,
        actor_network=actor,
        value_network=value_network.ValueNetwork(OBS, fc_layer_params=(8,))
        if with_value_network
        else None,
        optimizer=tf.keras.optimizers.Adam(5e-2),
        normalize_returns=False,
    )
    probe = ts.restart(tf.constant([[1.0, 0.0], [-1.0, 0.0]]), batch_size=2)

    def right_probability() -> float:
        probs = (
            agent.collect_policy.distribution(probe).action.probs_parameter().numpy()
        )
        return float(probs[0, 1] + probs[1, 0]) / 2

    before = right_probability()
    for _ in range(40):
        loss_info = agent.train(_episode(batch=16))
    assert isinstance(loss_info.extra, reinforce_agent.ReinforceAgentLossInfo)
    assert right_probability() > before + 0.1


def test_reinforce_needs_a_complete_episode() -> None:
    tf.keras.utils.set_random_seed(0)
    agent = reinforce_agent.ReinforceAgent(
        TIME_STEP,
        ACT,
        actor_network=actor_distribution_network.ActorDistributionNetwork(OBS, ACT),
        optimizer=tf.keras.optimizers.Adam(),
    )
    partial = _episode()._replace(step_type=tf.fill([3, 4], ts.StepType.MID))
    partial = partial._replace(next_step_type=tf.fill([3, 4], ts.StepType.MID))
    with pytest.raises(tf.errors.InvalidArgumentError, match="No complete episode"):
        agent.train(partial)


def test_behavioral_cloning_copies_the_expert() -> None:
    tf.keras.utils.set_random_seed(0)
    agent = behavioral_cloning_agent.BehavioralCloningAgent(
        TIME_STEP,
        ACT,
        cloning_network=q_network.QNetwork(OBS, ACT, fc_layer_params=(16,)),
        optimizer=tf.keras.optimizers.Adam(5e-2),
    )
    rng = np.random.default_rng(0)
    observation = rng.normal(size=(64, 2)).astype(np.float32)
    expert = trajectory.Trajectory(
        tf.fill([64], ts.StepType.MID),
        tf.constant(observation),
        tf.constant((observation[:, 0] > 0).astype(np.int32)),
        (),
        tf.fill([64], ts.StepType.MID),
        tf.zeros([64]),
        tf.ones([64]),
    )
    for _ in range(60):
        agent.train(expert)
    actions = agent.policy.action(
        ts.restart(tf.constant(observation), batch_size=64)
    ).action
    assert np.mean(actions.numpy() == (observation[:, 0] > 0)) > 0.9


def test_behavioral_cloning_refuses_a_nest_without_a_loss() -> None:
    with pytest.raises(ValueError, match="loss_fn"):
        behavioral_cloning_agent.BehavioralCloningAgent(
            TIME_STEP,
            (ACT, ACT),
            cloning_network=q_network.QNetwork(OBS, ACT),
            optimizer=tf.keras.optimizers.Adam(),
        )


def test_random_agent_counts_steps_and_acts_in_bounds() -> None:
    agent = random_agent.RandomAgent(
        TIME_STEP, ACT, train_step_counter=tf.Variable(0, dtype=tf.int64)
    )
    experience = tf.nest.map_structure(lambda t: t[:, 0], _episode())
    loss = agent.train(experience)
    assert isinstance(loss, tf_agent.LossInfo) and float(loss.loss) == 0.0
    assert int(agent.train_step_counter) == 1
    actions = agent.policy.action(ts.restart(tf.zeros([5, 2]), batch_size=5)).action
    assert set(actions.numpy().tolist()) <= {0, 1}
