"""Every agent trains with an int32 `train_step_counter`, as in TF-Agents' tutorials.

The tutorials make the counter with `tf.Variable(0)` (int32) and train through
`common.function(agent.train)`; the counter must keep its dtype and advance by
one per `train` call (PPO: one per epoch). int64 counters, each agent's default,
are what the agents' own tests train with under `common.function`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import tensorflow as tf

from policylib.agents.behavioral_cloning import behavioral_cloning_agent
from policylib.agents.categorical_dqn import categorical_dqn_agent
from policylib.agents.dqn import dqn_agent
from policylib.agents.ppo import ppo_agent
from policylib.agents.random import random_agent
from policylib.agents.reinforce import reinforce_agent
from policylib.networks import (
    actor_distribution_network,
    categorical_q_network,
    q_network,
    value_network,
)
from policylib.utils import common
from tests.agents import (
    test_actor_critic_agents,
    test_dqn_agent,
    test_other_agents,
    test_ppo_agent,
)

OBS, ACT, TIME_STEP = test_dqn_agent.OBS, test_dqn_agent.ACT, test_dqn_agent.TIME_STEP


def _dqn(counter: tf.Variable) -> Any:
    return test_dqn_agent._agent(dqn_agent.DqnAgent, train_step_counter=counter)


def _ddqn(counter: tf.Variable) -> Any:
    return test_dqn_agent._agent(
        dqn_agent.DdqnAgent, train_step_counter=counter, target_update_period=2
    )


def _c51(counter: tf.Variable) -> Any:
    tf.keras.utils.set_random_seed(0)
    return categorical_dqn_agent.CategoricalDqnAgent(
        TIME_STEP,
        ACT,
        categorical_q_network=categorical_q_network.CategoricalQNetwork(
            OBS, ACT, num_atoms=11, fc_layer_params=(8,)
        ),
        optimizer=tf.keras.optimizers.Adam(1e-2),
        train_step_counter=counter,
    )


def _reinforce(counter: tf.Variable) -> Any:
    tf.keras.utils.set_random_seed(0)
    return reinforce_agent.ReinforceAgent(
        TIME_STEP,
        ACT,
        actor_network=actor_distribution_network.ActorDistributionNetwork(
            OBS, ACT, fc_layer_params=(8,)
        ),
        optimizer=tf.keras.optimizers.Adam(1e-2),
        train_step_counter=counter,
    )


def _behavioral_cloning(counter: tf.Variable) -> Any:
    tf.keras.utils.set_random_seed(0)
    return behavioral_cloning_agent.BehavioralCloningAgent(
        TIME_STEP,
        ACT,
        cloning_network=q_network.QNetwork(OBS, ACT, fc_layer_params=(8,)),
        optimizer=tf.keras.optimizers.Adam(1e-2),
        train_step_counter=counter,
    )


def _random(counter: tf.Variable) -> Any:
    return random_agent.RandomAgent(TIME_STEP, ACT, train_step_counter=counter)


def _ppo(counter: tf.Variable) -> Any:
    tf.keras.utils.set_random_seed(0)
    return ppo_agent.PPOAgent(
        TIME_STEP,
        ACT,
        optimizer=tf.keras.optimizers.Adam(1e-2),
        actor_net=actor_distribution_network.ActorDistributionNetwork(
            OBS, ACT, fc_layer_params=(8,)
        ),
        value_net=value_network.ValueNetwork(OBS, fc_layer_params=(8,)),
        num_epochs=3,
        train_step_counter=counter,
    )


def _ppo_experience(agent: Any) -> Any:
    return test_ppo_agent._collect(agent, lambda a: a.astype("float32"), batch=8)


# name -> (builder, experience for the built agent, counter steps per train call)
AGENTS: dict[str, tuple[Callable[[tf.Variable], Any], Callable[[Any], Any], int]] = {
    "DqnAgent": (_dqn, lambda _: test_dqn_agent._experience(), 1),
    "DdqnAgent": (_ddqn, lambda _: test_dqn_agent._experience(), 1),
    "CategoricalDqnAgent": (_c51, lambda _: test_dqn_agent._experience(), 1),
    "ReinforceAgent": (_reinforce, lambda _: test_other_agents._episode(), 1),
    "BehavioralCloningAgent": (  # [B] experience: num_outer_dims=1 by default.
        _behavioral_cloning,
        lambda _: tf.nest.map_structure(
            lambda t: t[:, 0], test_dqn_agent._experience()
        ),
        1,
    ),
    "RandomAgent": (_random, lambda _: test_dqn_agent._experience(), 1),
    "PPOAgent": (_ppo, _ppo_experience, 3),
    "PPOClipAgent": (
        lambda c: test_ppo_agent._clip_agent(train_step_counter=c),
        _ppo_experience,
        4,
    ),
    "PPOKLPenaltyAgent": (
        lambda c: test_ppo_agent._kl_agent(train_step_counter=c),
        _ppo_experience,
        4,
    ),
    "SacAgent": (
        lambda c: test_actor_critic_agents._sac(train_step_counter=c),
        lambda _: test_actor_critic_agents._experience(batch=8),
        1,
    ),
    "Td3Agent": (
        lambda c: test_actor_critic_agents._td3(
            train_step_counter=c, target_update_period=2, actor_update_period=2
        ),
        lambda _: test_actor_critic_agents._experience(batch=8),
        1,
    ),
    "DdpgAgent": (
        lambda c: test_actor_critic_agents._ddpg(
            train_step_counter=c, target_update_period=2
        ),
        lambda _: test_actor_critic_agents._experience(batch=8),
        1,
    ),
}


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_an_int32_counter_keeps_its_dtype_under_common_function(name: str) -> None:
    build, experience_for, per_train = AGENTS[name]
    dtype = tf.int32
    counter = tf.Variable(0, dtype=dtype)
    agent = build(counter)
    agent.initialize()
    experience = experience_for(agent)
    train = common.function(agent.train)
    for _ in range(2):  # Twice: periodic updates (target, actor) read the counter.
        loss_info = train(experience)
        assert tf.math.is_finite(tf.cast(loss_info.loss, tf.float32))
    assert agent.train_step_counter is counter
    assert counter.dtype == dtype
    assert int(counter.numpy()) == 2 * per_train
    # Eager training advances the same counter.
    agent.train(experience)
    assert counter.dtype == dtype and int(counter.numpy()) == 3 * per_train


def test_a_tutorial_counter_is_int32() -> None:
    """The premise: `tf.Variable(0)` is int32, the tutorials' spelling."""
    assert tf.Variable(0).dtype == tf.int32


def test_summaries_are_written_at_an_int32_step(tmp_path) -> None:
    counter = tf.Variable(0)
    agent = test_dqn_agent._agent(
        dqn_agent.DqnAgent,
        train_step_counter=counter,
        debug_summaries=True,
        summarize_grads_and_vars=True,
    )
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        common.function(agent.train)(test_dqn_agent._experience())
    writer.flush()
    assert counter.dtype == tf.int32 and int(counter.numpy()) == 1
    events = [p for p in tmp_path.iterdir() if "tfevents" in p.name]
    steps = {
        event.step
        for path in events
        for event in tf.compat.v1.train.summary_iterator(str(path))
        if event.summary.value
    }
    assert steps == {0}  # Summaries of the first train call, before the increment.
