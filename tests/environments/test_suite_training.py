"""Agents train through the suites: SAC on a MuJoCo task, DQN on an Atari game.

Each runs the TF-Agents loop a user writes (suite -> TFPyEnvironment -> driver
into a replay buffer -> agent.train), a few hundred environment steps, then
saves the greedy policy and evaluates the saved copy on the same suite.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.ddpg import critic_network
from policylib.agents.dqn import dqn_agent
from policylib.agents.sac import sac_agent, tanh_normal_projection_network
from policylib.drivers import dynamic_step_driver
from policylib.environments import suite_mujoco, tf_py_environment
from policylib.eval import evaluate
from policylib.networks import actor_distribution_network, q_network
from policylib.policies import policy_saver, random_tf_policy
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.utils import common


def _collect_and_train(agent, env, steps: int, train_steps: int, batch: int):
    """Random warm-up, then collect/train rounds; returns the losses."""
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=env.batch_size, max_length=steps + 10
    )
    random_policy = random_tf_policy.RandomTFPolicy(
        env.time_step_spec(), env.action_spec()
    )
    warm_up = steps // 2
    dynamic_step_driver.DynamicStepDriver(
        env, random_policy, [buffer.add_batch], num_steps=warm_up
    ).run()
    collect = common.function(
        dynamic_step_driver.DynamicStepDriver(
            env, agent.collect_policy, [buffer.add_batch], num_steps=1
        ).run
    )
    dataset = buffer.as_dataset(sample_batch_size=batch, num_steps=2)
    iterator = iter(dataset)
    train = common.function(agent.train)
    losses = []
    time_step = None
    for i in range(steps - warm_up):
        time_step, _ = collect(time_step=time_step)
        if i % max(1, (steps - warm_up) // train_steps) == 0:
            experience, _ = next(iterator)
            losses.append(float(train(experience).loss))
    return losses


def _save_and_evaluate(agent, load, path: str, steps: int) -> None:
    """The greedy policy saved, then the saved copy run for `steps` on the suite."""
    policy_saver.PolicySaver(agent.policy).save(path)
    result = evaluate(
        path, load, num_episodes=1, max_steps=steps, seed=0, progress=False
    )
    assert result.lengths == (steps,)
    assert np.isfinite(result.returns[0])


@pytest.mark.skipif(not suite_mujoco.is_available(), reason="mujoco extra missing")
def test_sac_trains_on_a_mujoco_task_through_suite_mujoco(tmp_path) -> None:
    tf.random.set_seed(0)
    load = functools.partial(suite_mujoco.load, "HalfCheetah-v2")  # -> v5
    py_env = load()
    py_env.seed(0)
    env = tf_py_environment.TFPyEnvironment(py_env)
    observation_spec, action_spec = env.observation_spec(), env.action_spec()
    critic = critic_network.CriticNetwork(
        (observation_spec, action_spec), joint_fc_layer_params=(32, 32)
    )
    actor = actor_distribution_network.ActorDistributionNetwork(
        observation_spec,
        action_spec,
        fc_layer_params=(32, 32),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )
    agent = sac_agent.SacAgent(
        env.time_step_spec(),
        action_spec,
        actor_network=actor,
        critic_network=critic,
        actor_optimizer=tf.keras.optimizers.Adam(3e-4),
        critic_optimizer=tf.keras.optimizers.Adam(3e-4),
        alpha_optimizer=tf.keras.optimizers.Adam(3e-4),
    )
    agent.initialize()
    losses = _collect_and_train(agent, env, steps=300, train_steps=30, batch=32)
    assert len(losses) >= 30 and np.all(np.isfinite(losses))

    _save_and_evaluate(agent, load, str(tmp_path / "sac_halfcheetah"), steps=40)


@pytest.mark.skipif(
    importlib.util.find_spec("ale_py") is None, reason="atari extra missing"
)
def test_dqn_trains_on_an_atari_game_with_tf_agents_preprocessing(tmp_path) -> None:
    from policylib.environments import suite_atari

    tf.random.set_seed(0)
    load = functools.partial(
        suite_atari.load,
        "PongNoFrameskip-v4",
        max_episode_steps=400,
        gym_env_wrappers=suite_atari.DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING,
    )
    py_env = load()
    py_env.seed(0)
    assert py_env.observation_spec().shape == (84, 84, 4)
    env = tf_py_environment.TFPyEnvironment(py_env)
    q_net = q_network.QNetwork(
        env.observation_spec(),
        env.action_spec(),
        preprocessing_layers=tf.keras.layers.Lambda(
            lambda x: tf.cast(x, tf.float32) / 255.0
        ),
        conv_layer_params=((8, (8, 8), 4), (16, (4, 4), 2)),
        fc_layer_params=(64,),
    )
    agent = dqn_agent.DqnAgent(
        env.time_step_spec(),
        env.action_spec(),
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(1e-4),
        epsilon_greedy=0.1,
        target_update_period=50,
        td_errors_loss_fn=common.element_wise_huber_loss,
    )
    agent.initialize()
    losses = _collect_and_train(agent, env, steps=300, train_steps=30, batch=16)
    assert len(losses) >= 30 and np.all(np.isfinite(losses))

    _save_and_evaluate(agent, load, str(tmp_path / "dqn_pong"), steps=60)
